import ChainModel
import ChainNN
import ChainNumerics
import ChainTestSupport
import XCTest

/// `PositionIndex`: the positions a view's frames are embedded at, by hand, in a training
/// step, in the gradient and at inference.
final class PositionIndexTests: XCTestCase {
    func positions(_ index: PositionIndex, _ frames: [Int32], videoFrames: Int) -> [Int32] {
        var out = [Int32](repeating: -1, count: frames.count)
        frames.withUnsafeBufferPointer { f in
            out.withUnsafeMutableBufferPointer {
                index.positions(
                    of: f.baseAddress!, count: frames.count, videoFrames: videoFrames, into: $0.baseAddress!)
            }
        }
        return out
    }

    /// Hand-computed cases: round((t − a)·(T − 1)/(b − a)), halves rounded up.
    func testStretchedPositionsByHand() {
        // T = 12, frames 3, 5, 9: (0, 2·11/6 = 3.67, 11).
        XCTAssertEqual(positions(.stretched, [3, 5, 9], videoFrames: 12), [0, 4, 11])
        // T = 4, frames 0, 1, 2: (0, 1·3/2 = 1.5 → 2, 3).
        XCTAssertEqual(positions(.stretched, [0, 1, 2], videoFrames: 4), [0, 2, 3])
        // T = 25, frames 10…13: (0, 8, 16, 24).
        XCTAssertEqual(positions(.stretched, [10, 11, 12, 13], videoFrames: 25), [0, 8, 16, 24])
        // A single frame, or a view of one repeated frame (videos shorter than L): 0.
        XCTAssertEqual(positions(.stretched, [7], videoFrames: 12), [0])
        XCTAssertEqual(positions(.stretched, [4, 4], videoFrames: 12), [0, 0])
        // All T frames: 0…T−1 under both.
        let all = (0..<Int32(9)).map { $0 }
        XCTAssertEqual(positions(.stretched, all, videoFrames: 9), all)
        XCTAssertEqual(positions(.frame, [3, 5, 9], videoFrames: 12), [3, 5, 9])
        // In place (the buffers may be the same).
        var frames: [Int32] = [2, 6, 8]
        frames.withUnsafeMutableBufferPointer {
            PositionIndex.stretched.positions(of: $0.baseAddress!, count: 3, videoFrames: 10, into: $0.baseAddress!)
        }
        XCTAssertEqual(frames, [0, 6, 9])
    }

    func config(_ index: PositionIndex) -> CHAINConfig {
        var c = CHAINConfig(
            featureSize: 10, maxFrames: 12, bits: 8, modelSize: 16, layers: 2, heads: 2, ffnSize: 24, viewFrames: 6)
        c.positionIndex = index
        return c
    }

    /// A training step embeds each view's frames where `PositionIndex` puts them: every
    /// stretched view runs from 0 to T − 1, while the frame indices stay those sampled.
    func testStepEmbedsTheViewsAtTheirPositions() {
        let batch = 3, frames = 12
        let videos = SyntheticVideos.make(videos: batch, frames: frames, featureSize: 10, classes: 3, seed: 4)
        var sampled: [[Int32]] = []
        for index in PositionIndex.allCases {
            let model = CHAINModel(config: config(index), seed: 3)
            let step = CHAINStep(model: model, maxBatch: batch)
            var rng = Philox(seed: 5)
            _ = videos.withUnsafeBufferPointer {
                step.run(
                    videos: $0.baseAddress!, batch: batch, frames: frames, rng: &rng, exchange: SingleProcessExchange())
            }
            for view in 0..<2 {
                let (indices, embedded) = step.viewPositions(view: view)
                if index == .frame { sampled.append(indices) } else { XCTAssertEqual(indices, sampled[view]) }
                for v in 0..<batch {
                    let rows = (v * 6)..<((v + 1) * 6), row = Array(embedded[rows])
                    XCTAssertEqual(row, positions(index, Array(indices[rows]), videoFrames: frames))
                    if index == .stretched {
                        XCTAssertEqual([row.first!, row.last!], [0, 11], "view \(view), video \(v): \(row)")
                        XCTAssertEqual(row, row.sorted())
                    }
                }
            }
        }
    }

    /// The whole objective with stretched positions against finite differences: the views,
    /// the order pass (all frames moved, and a third moved against the rest) and the reversed
    /// view read the stretched positions in forward and backward alike.
    func testWholeModelGradientWithStretchedPositions() {
        for shuffled: Float in [1, 1.0 / 3] {
            var c = config(.stretched)
            c.hashActivation = .hardTanh
            c.sceneWeight = 0
            c.orderShuffled = shuffled
            c.reversedNegatives = true
            let model = CHAINModel(config: c, seed: 21)
            let gain = model.store.value(model.hash.norm.gamma!)
            for k in 0..<c.bits { gain[k] = 0.3 }
            let videos = SyntheticVideos.make(videos: 3, frames: 12, featureSize: 10, classes: 3, seed: 22)
            let step = makeTrainingStep(model: model, maxBatch: 3)
            let run = {
                var rng = Philox(seed: 23)
                return videos.withUnsafeBufferPointer {
                    step.run(
                        videos: $0.baseAddress!, batch: 3, frames: 12, rng: &rng, exchange: SingleProcessExchange())
                }
            }
            model.store.zeroGradients()
            XCTAssertGreaterThan(run().order, 0)
            let r = GradientCheck().checkParameters(model.store, perParameter: 4) { run().total }
            XCTAssertTrue(r.passed, "order_shuffled \(shuffled): \(r)")
        }
    }

    /// Interleaved inference views under stretched positions: the j-th sequence's i-th frame
    /// (frame j + i·k) is embedded at round(i·(T−1)/(L−1)), as a training view spanning it.
    /// The position table is made large, so that codes at the frame indices would differ.
    func testInterleavedViewsAreStretched() {
        let model = CHAINModel(config: config(.stretched), seed: 7)
        let table = model.store.value(model.encoder.positional.table!)
        var g = Philox(seed: 8)
        for i in 0..<(12 * 16) { table[i] = 2 * g.nextGaussian() }
        let frames = 12, batch = 2, views = 3
        let videos = SyntheticVideos.make(videos: batch, frames: frames, featureSize: 10, classes: 2, seed: 9)
        let e = CHAINModel.Encoding(model, maxBatch: batch, frames: frames, views: views)
        let codes = Tensor(shape: [batch, 8])
        videos.withUnsafeBufferPointer { model.encode($0.baseAddress!, batch: batch, e, codes: codes.pointer) }
        let stretched: [Int32] = [0, 4, 7, 11]  // i·11/3 = 0, 3.67, 7.33, 11
        let atStretched = interleavedCodesByHand(model, videos: videos, batch: batch, frames: frames, views: views) {
            i, _ in stretched[i]
        }
        let atFrames = interleavedCodesByHand(model, videos: videos, batch: batch, frames: frames, views: views) {
            i, j in Int32(j + i * views)
        }
        XCTAssertEqual(codes.toArray(), atStretched)
        XCTAssertNotEqual(atStretched, atFrames, "the fixture cannot tell the two position sets apart")
    }
}
