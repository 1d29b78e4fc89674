import ChainModel
import ChainNN
import ChainNumerics
import ChainTestSupport
import XCTest

/// The PyTorch benchmark's step in this engine (`chain-bench torch-step`): exact gradients,
/// and the two speed-ups (shared projection, worker threads) change no result.
final class ReferenceHashNetTests: XCTestCase {
    static func tinyShape(dropout: Float) -> ReferenceHashNet.Shape {
        var s = ReferenceHashNet.Shape()
        s.batch = 4; s.frames = 5; s.features = 6
        s.modelSize = 8; s.heads = 2; s.ffnSize = 12; s.layers = 2; s.bits = 6
        s.dropout = dropout
        return s
    }

    func testWholeStepGradientsMatchFiniteDifferences() {
        let shape = Self.tinyShape(dropout: 0)
        let net = ReferenceHashNet(shape: shape, seed: 1)
        let clips = TestData.gaussian(shape.batch * shape.frames * shape.features, seed: 2)
        func loss() -> Double {
            var rng = Philox(seed: 3)  // the same masks and permutations every evaluation
            return clips.withUnsafeBufferPointer { net.lossAndGradients($0.baseAddress!, rng: &rng).total }
        }
        net.store.zeroGradients()
        _ = loss()
        let report = GradientCheck().checkParameters(net.store, perParameter: 8, loss: loss)
        XCTAssertTrue(report.passed, "\(report)")
    }

    /// Gradients (with dropout on) for: projection per view vs shared, 1 vs 2 workers.
    func testSharedProjectionAndWorkersChangeNoResult() {
        let shape = Self.tinyShape(dropout: 0.2)
        let clips = TestData.gaussian(shape.batch * shape.frames * shape.features, seed: 5)
        func run(workers: Int, share: Bool) -> (loss: Double, gradients: [Float]) {
            let net = ReferenceHashNet(shape: shape, seed: 1, workers: workers, shareProjection: share)
            var rng = Philox(seed: 6)
            net.store.zeroGradients()
            let loss = clips.withUnsafeBufferPointer { net.lossAndGradients($0.baseAddress!, rng: &rng).total }
            return (loss, net.store.gradients.toArray())
        }
        let reference = run(workers: 1, share: false)
        XCTAssertTrue(reference.gradients.contains { $0 != 0 })
        for (workers, share) in [(1, true), (2, false), (2, true), (3, true)] {
            let other = run(workers: workers, share: share)
            XCTAssertEqual(
                other.loss, reference.loss, accuracy: 1e-6 * abs(reference.loss), "workers \(workers), shared \(share)")
            let largest = reference.gradients.map(abs).max()!
            let worst = zip(other.gradients, reference.gradients).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-5 * largest, "workers \(workers), shared \(share)")
        }
    }

    func testTrainingStepsLowerTheLoss() {
        var shape = Self.tinyShape(dropout: 0)
        shape.learningRate = 3e-3
        let net = ReferenceHashNet(shape: shape, seed: 1)
        let clips = TestData.gaussian(shape.batch * shape.frames * shape.features, seed: 7)
        var losses: [Double] = []
        for _ in 0..<60 {
            var rng = Philox(seed: 8)
            losses.append(clips.withUnsafeBufferPointer { net.step($0.baseAddress!, rng: &rng).total })
        }
        XCTAssertLessThan(losses.last!, 0.7 * losses.first!)
    }

    func testFLOPCountMatchesTheTorchScript() {
        // torch_step.py prints "analytic 88.4 GFLOP/step" for B=128 T=25 D=4096.
        XCTAssertEqual(ReferenceHashNet.torchFLOPs(.init()) / 1e9, 88.4, accuracy: 0.05)
    }
}
