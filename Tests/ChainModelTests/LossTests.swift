import ChainModel
import ChainNN
import ChainNumerics
import ChainTestSupport
import Foundation
import XCTest

final class LossTests: XCTestCase {
    func testRowNormalizationGradient() {
        let x = TestData.tensor([3, 5], seed: 1), y = Tensor(shape: [3, 5]), norms = Tensor(shape: [3]),
            dx = Tensor(shape: [3, 5])
        let w = TestData.gaussian(15, seed: 2)
        func loss() -> Double {
            RowNormalization.forward(x.pointer, y.pointer, norms: norms.pointer, rows: 3, columns: 5);
            return TestData.weightedSum(y.pointer, w)
        }
        _ = loss()
        w.withUnsafeBufferPointer {
            RowNormalization.backward(y.pointer, $0.baseAddress!, norms: norms.pointer, dx.pointer, rows: 3, columns: 5)
        }
        let r = GradientCheck(epsilon: 1e-3).checkInput(
            "x", values: x.pointer, count: 15, analytic: dx.toArray(), loss: loss)
        XCTAssertTrue(r.passed, "\(r)")
    }

    /// Two pairs of orthogonal codes, τ = 0.5: anchor 0 has s_01 = 2, s_02 = s_03 = 0, so
    /// ℓ = −2 + log(e² + 2) for every anchor by symmetry.
    func testContrastiveHandComputed() {
        let codes: [Float] = [3, 0, 1, 0, 0, 2, 0, 5]  // rows: e1, e1, e2, e2 (unnormalised)
        var d = [Float](repeating: 0, count: 8)
        let loss = codes.withUnsafeBufferPointer { c in
            d.withUnsafeMutableBufferPointer {
                ContrastiveLoss(temperature: 0.5).lossAndGradient(
                    codes: c.baseAddress!, rows: 4, dim: 2, positives: [1, 0, 3, 2],
                    anchors: 0..<4, totalAnchors: 4, dCodes: $0.baseAddress!)
            }
        }
        XCTAssertEqual(loss, -2 + log(exp(2.0) + 2), accuracy: 1e-6)
    }

    /// A workspace reused across calls of other sizes (as a step reuses one) gives exactly the
    /// values and gradients of fresh scratch, for both losses.
    func testReusedWorkspaceGivesTheSameResults() {
        let workspace = Workspace(), prototypes = Workspace()
        for (m, dim, seed) in [(12, 6, UInt64(40)), (8, 4, 41), (16, 6, 42)] {
            let codes = TestData.tensor([m, dim], seed: seed)
            let positives = (0..<m).map { ($0 + m / 2) % m }
            let fresh = Tensor(shape: [m, dim]), reused = Tensor(shape: [m, dim])
            let loss = ContrastiveLoss(temperature: 0.5, debiasPrior: 0.1)
            let a = loss.lossAndGradient(
                codes: codes.pointer, rows: m, dim: dim, positives: positives, anchors: 2..<m,
                totalAnchors: m, dCodes: fresh.pointer)
            let b = loss.lossAndGradient(
                codes: codes.pointer, rows: m, dim: dim, positives: positives, anchors: 2..<m,
                totalAnchors: m, dCodes: reused.pointer, workspace: workspace)
            XCTAssertEqual(a, b)
            XCTAssertEqual(fresh.toArray(), reused.toArray())

            let k = m / 4, raw = TestData.tensor([k, dim], seed: seed + 10)
            let centers = Tensor(shape: [k, dim]), centerNorms = Tensor(shape: [k])
            RowNormalization.forward(raw.pointer, centers.pointer, norms: centerNorms.pointer, rows: k, columns: dim)
            let targets = (0..<m).map { Int32($0 % 3 == 0 ? -1 : $0 % k) }
            let p = PrototypeLoss(temperature: 0.1)
            let dFresh = Tensor(shape: [m, dim]), dReused = Tensor(shape: [m, dim])
            let c = p.lossAndGradient(
                anchors: codes.pointer, rows: m, dim: dim, prototypes: centers.pointer, count: k,
                targets: targets, totalAnchors: m, dAnchors: dFresh.pointer)
            let d = p.lossAndGradient(
                anchors: codes.pointer, rows: m, dim: dim, prototypes: centers.pointer, count: k,
                targets: targets, totalAnchors: m, dAnchors: dReused.pointer, workspace: prototypes)
            XCTAssertEqual(c, d)
            XCTAssertEqual(dFresh.toArray(), dReused.toArray())
        }
    }

    /// Both forms, with the candidates of other "ranks" present: the anchors' loss must
    /// send gradient to every candidate, and the partition into ranks must not matter.
    func testContrastiveGradientsAndPartition() {
        for prior in [nil, Float(0.1)] {
            let loss = ContrastiveLoss(temperature: 0.5, debiasPrior: prior)
            let m = 8, dim = 5
            let codes = TestData.tensor([m, dim], seed: 3)
            let positives = [4, 5, 6, 7, 0, 1, 2, 3]
            func value(_ anchors: Range<Int>, _ d: Tensor) -> Double {
                loss.lossAndGradient(
                    codes: codes.pointer, rows: m, dim: dim, positives: positives, anchors: anchors,
                    totalAnchors: m, dCodes: d.pointer)
            }
            // Rank 0 owns rows 0..<4 here: its gradient for rows 4..<8 is what it sends back.
            let d = Tensor(shape: [m, dim])
            _ = value(0..<4, d)
            let scratch = Tensor(shape: [m, dim])
            let r = GradientCheck(epsilon: 1e-3).checkInput(
                "codes", values: codes.pointer, count: m * dim, analytic: d.toArray()
            ) {
                value(0..<4, scratch)
            }
            XCTAssertTrue(r.passed, "prior \(String(describing: prior)): \(r)")
            XCTAssertGreaterThan(d.toArray()[(4 * dim)...].map(abs).max()!, 0)
            // Splitting the anchors over two calls gives the same loss and gradient as one.
            let whole = Tensor(shape: [m, dim]), parts = Tensor(shape: [m, dim])
            let all = value(0..<m, whole)
            let split = value(0..<3, parts) + value(3..<m, parts)
            XCTAssertEqual(all, split, accuracy: 1e-6)
            for k in 0..<(m * dim) { XCTAssertEqual(whole[k], parts[k], accuracy: 1e-6) }
        }
    }

    /// When the debiased negative term hits its floor, the negatives get no gradient.
    func testDebiasedClampStopsNegativeGradient() {
        // Positives identical (s = 1/τ = 2), negatives orthogonal (s = 0), τ⁺ = 0.9:
        // (Σneg − τ⁺·N·pos)/(1 − τ⁺) = (2 − 0.9·2·e²)/0.1 < 0 < N·e^{−1/τ}, so Ng is clamped.
        let codes: [Float] = [1, 0, 1, 0, 0, 1, 0, 1]
        var d = [Float](repeating: 0, count: 8)
        _ = codes.withUnsafeBufferPointer { c in
            d.withUnsafeMutableBufferPointer {
                ContrastiveLoss(temperature: 0.5, debiasPrior: 0.9).lossAndGradient(
                    codes: c.baseAddress!, rows: 4, dim: 2, positives: [1, 0, 3, 2], anchors: 0..<1, totalAnchors: 4,
                    dCodes: $0.baseAddress!)
            }
        }
        XCTAssertEqual(d[4], 0); XCTAssertEqual(d[5], 0); XCTAssertEqual(d[6], 0); XCTAssertEqual(d[7], 0)
    }

    func testPrototypeLossGradientAndSkippedAnchors() {
        let anchors = TestData.tensor([6, 4], seed: 5), d = Tensor(shape: [6, 4])
        var protos = TestData.gaussian(12, seed: 6)
        protos.withUnsafeMutableBufferPointer { p in
            let norms = Tensor(shape: [3])
            RowNormalization.forward(p.baseAddress!, p.baseAddress!, norms: norms.pointer, rows: 3, columns: 4)
        }
        let targets: [Int32] = [0, 2, -1, 1, 1, 0]
        let loss = PrototypeLoss(temperature: 0.1)
        func value(_ out: Tensor) -> Double {
            protos.withUnsafeBufferPointer {
                loss.lossAndGradient(
                    anchors: anchors.pointer, rows: 6, dim: 4, prototypes: $0.baseAddress!, count: 3,
                    targets: targets, totalAnchors: 5, dAnchors: out.pointer)
            }
        }
        _ = value(d)
        let scratch = Tensor(shape: [6, 4])
        let r = GradientCheck(epsilon: 1e-3).checkInput(
            "anchors", values: anchors.pointer, count: 24, analytic: d.toArray()
        ) { value(scratch) }
        XCTAssertTrue(r.passed, "\(r)")
        for k in 8..<12 { XCTAssertEqual(d[k], 0) }  // target −1: no loss, no gradient
    }
}

final class ViewTests: XCTestCase {
    func testSegmentSampling() {
        let sampler = SegmentSampler(segments: 6, minimumSpan: 0.5)
        var rng = Philox(seed: 1)
        var seen = Set<Int>()
        for _ in 0..<500 {
            let idx = sampler.sample(frames: 25, rng: &rng)
            XCTAssertEqual(idx.count, 6)
            XCTAssertEqual(idx, idx.sorted())
            XCTAssertEqual(Set(idx).count, 6, "one distinct frame per segment")
            XCTAssertTrue(idx.allSatisfy { $0 >= 0 && $0 < 25 })
            XCTAssertLessThanOrEqual(idx.last! - idx.first!, 25)
            seen.formUnion(idx)
        }
        XCTAssertEqual(seen.count, 25, "every frame can be picked")
        // Spans are at least ⌈0.5·T⌉ frames wide, so first and last pick are in different halves often.
        XCTAssertEqual(SegmentSampler(segments: 5).sample(frames: 3, rng: &rng), [0, 0, 1, 1, 2])
        // Reproducible from the generator state.
        var a = Philox(seed: 9), b = Philox(seed: 9)
        XCTAssertEqual(sampler.sample(frames: 25, rng: &a), sampler.sample(frames: 25, rng: &b))
    }

    /// Masking keeps a random, ordered subset of the segment-sampled frames; without it the
    /// sampler draws exactly what it drew before the option existed.
    func testMaskedSegmentSampling() {
        let plain = SegmentSampler(segments: 25, minimumSpan: 1),
            masked = SegmentSampler(segments: 25, minimumSpan: 1, maskRatio: 0.5)
        XCTAssertEqual(plain.viewLength, 25)
        XCTAssertEqual(masked.viewLength, 12, "25 − round(12.5)")
        XCTAssertEqual(SegmentSampler(segments: 4, maskRatio: 0.9).viewLength, 1, "at least one frame stays")
        var rng = Philox(seed: 3)
        var seen = [Int](repeating: 0, count: 25)
        for _ in 0..<2000 {
            let idx = masked.sample(frames: 25, rng: &rng)
            XCTAssertEqual(idx.count, 12)
            XCTAssertEqual(Set(idx).count, 12)
            XCTAssertEqual(idx, idx.sorted())
            for i in idx { seen[i] += 1 }
        }
        // Each frame is kept with probability 12/25: 960 of 2000 draws.
        XCTAssertTrue(seen.allSatisfy { abs($0 - 960) < 130 }, "\(seen)")
        // A masked view is a subset of the unmasked draw from the same generator state.
        let segments = SegmentSampler(segments: 12, minimumSpan: 0.5),
            subset = SegmentSampler(segments: 12, minimumSpan: 0.5, maskRatio: 0.25)
        for seed in 0..<50 {
            var a = Philox(seed: UInt64(seed)), b = Philox(seed: UInt64(seed))
            let all = segments.sample(frames: 40, rng: &a), some = subset.sample(frames: 40, rng: &b)
            XCTAssertEqual(some.count, 9)
            XCTAssertTrue(Set(some).isSubset(of: all))
        }
        // A ratio too small to mask a frame draws no permutation: the same frames and the same
        // generator state afterwards as no masking.
        var c = Philox(seed: 5), d = Philox(seed: 5)
        let tiny = SegmentSampler(segments: 6, maskRatio: 0.05)
        XCTAssertEqual(tiny.viewLength, 6)
        XCTAssertEqual(SegmentSampler(segments: 6).sample(frames: 25, rng: &c), tiny.sample(frames: 25, rng: &d))
        XCTAssertEqual(c.next(), d.next())
    }

    func testFeatureAugmentationIsTemporallyConsistent() {
        let frames = 4, f = 50
        let x = TestData.tensor([frames, f], seed: 2)
        let original = x.toArray()
        var rng = Philox(seed: 3)
        FeatureAugmentation(channelDropout: 0.2, gainLow: 0.8, gainHigh: 1.2, noise: 0).apply(
            x.pointer, frames: frames, featureSize: f, featureStd: nil, rng: &rng)
        // Without noise the transform is a per-channel scale shared by all frames.
        for k in 0..<f {
            let ratio = original[k] != 0 ? x[k] / original[k] : 0
            for t in 1..<frames where original[t * f + k] != 0 {
                XCTAssertEqual(x[t * f + k], ratio * original[t * f + k], accuracy: 1e-5)
            }
        }
        XCTAssertTrue((0..<f).contains { x[$0] == 0 }, "some channels dropped")
        // With noise, the noise vector is also shared: frame differences only scale.
        let y = TestData.tensor([2, f], seed: 4), y0 = y.toArray()
        FeatureAugmentation(channelDropout: 0, gainLow: 1, gainHigh: 1, noise: 0.5).apply(
            y.pointer, frames: 2, featureSize: f, featureStd: nil, rng: &rng)
        for k in 0..<f { XCTAssertEqual(y[f + k] - y[k], y0[f + k] - y0[k], accuracy: 1e-5) }
        let z = TestData.tensor([2, f], seed: 4)
        FeatureAugmentation.identity.apply(z.pointer, frames: 2, featureSize: f, featureStd: nil, rng: &rng)
        XCTAssertEqual(z.toArray(), y0)
    }

    func testSceneSegmentationFindsScenes() {
        // 2 videos of 6 frames: video 0 shows scenes [0,1,2] and [3,4,5]; video 1 shows
        // [0,1], [2,3] and [4,5]; frames within a scene differ slightly.
        let dim = 4
        var acts = [Float](repeating: 0, count: 12 * dim)
        for t in 0..<6 { acts[t * dim + (t < 3 ? 0 : 1)] = 1; acts[t * dim + 3] = 0.01 * Float(t) }
        for t in 6..<12 { acts[t * dim + (t - 6) / 2] = 1; acts[t * dim + 3] = 0.01 * Float(t - 6) }
        let scenes = acts.withUnsafeBufferPointer {
            SceneSegmentation().segment($0.baseAddress!, videos: 2, frames: 6, dim: dim)
        }
        XCTAssertEqual(scenes.scenesPerVideo, [2, 3])
        XCTAssertEqual(scenes.count, 5)
        XCTAssertEqual(scenes.assignment, [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4])
        for k in 0..<5 {
            let row = scenes.prototypes[(k * dim)..<((k + 1) * dim)]
            XCTAssertEqual(row.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
        }
    }
}
