import ChainDistributed
import ChainModel
import ChainNumerics
import ChainTestSupport
import ChainTraining
import XCTest

/// The trainer fits the PCA input shortcut from the training frames before the first step;
/// a fixed shortcut keeps exactly those values through training, a trained one moves on.
final class InputShortcutTrainingTests: XCTestCase {
    func train(_ shortcut: InputShortcut) -> (trained: [Float], fitted: [Float]) {
        let videos = 24, frames = 6, f = 10
        let features = TestData.gaussian(videos * frames * f, seed: 41).enumerated().map {
            $0.element * Float(1 + $0.offset % f) + 0.5  // unequal variances: a well-defined PCA
        }
        let data = VideoSet(
            features: features, count: videos, frames: frames, featureSize: f, labels: nil, name: "shortcut")
        var config = CHAINConfig(
            featureSize: f, maxFrames: frames, bits: 6, modelSize: 8, layers: 1, heads: 2, ffnSize: 16, viewFrames: 4)
        config.inputShortcut = shortcut
        var options = Trainer.Options()
        options.epochs = 2; options.batchSize = 8; options.warmupEpochs = 1; options.learningRate = 1e-2
        let trainer = Trainer(config: config, options: options, comm: Communicator.local)
        trainer.train(data)
        // The fit on its own: the moments of the same frames (all of them: fewer than 4,096 videos).
        let reference = CHAINModel(config: config, seed: 99)
        var moments = FrameMoments(featureSize: f)
        features.withUnsafeBufferPointer { moments.add($0.baseAddress!, rows: videos * frames) }
        moments.flush()
        reference.fitInputShortcut(moments)
        func weights(_ m: CHAINModel) -> [Float] {
            let s = m.hash.shortcut!
            return Array(UnsafeBufferPointer(start: m.store.value(s.weight), count: s.weight.count))
                + Array(UnsafeBufferPointer(start: m.store.value(s.bias!), count: s.bias!.count))
        }
        return (weights(trainer.model), weights(reference))
    }

    func testFixedShortcutKeepsItsFit() {
        let (trained, fitted) = train(.pcaFixed)
        XCTAssertGreaterThan(fitted.map(abs).max()!, 0.01)
        XCTAssertEqual(trained, fitted)
    }

    func testTrainedShortcutStartsFromItsFitAndMoves() {
        let (trained, fitted) = train(.pca)
        let change = zip(trained, fitted).map { abs($0 - $1) }.max()!
        XCTAssertGreaterThan(change, 1e-4, "a trained shortcut learns")
        // Two epochs of 3 steps at lr 1e-2 move a weight by at most 6 × lr (AdamW steps are
        // bounded by about lr): the run started from the fit, not from zero.
        XCTAssertLessThan(change, 0.1)
    }
}
