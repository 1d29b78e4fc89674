import ChainNN
import ChainNumerics
import ChainToy
import XCTest

final class OptimizerTests: XCTestCase {
    /// AdamW against the update rule written out by hand (torch.optim.AdamW semantics),
    /// including decoupled decay, bias correction, and no decay for `decays: false`.
    func testAdamWMatchesReferenceFormula() {
        var layout = ParameterLayout()
        let w = layout.add("w", shape: [3], initializer: .zeros)
        let b = layout.add("b", shape: [2], initializer: .zeros, decays: false)
        let store = ParameterStore(layout: layout)
        let initial: [Float] = [0.5, -1.0, 2.0, 0.25, -0.75]
        let params = [w, b]
        for (k, p) in [(0, w), (3, b)] { for i in 0..<p.count { store.value(p)[i] = initial[k + i] } }
        let h = AdamW.Hyperparameters(beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1)
        let opt = AdamW(store, h)
        var refP = initial.map(Double.init), refM = [Double](repeating: 0, count: 5), refV = refM
        let decays = [true, true, true, false, false]
        let gradients: [[Float]] = [
            [0.1, -0.2, 0.3, 0.4, -0.5], [0.05, 0.1, -0.3, 0.2, 0.0], [-0.2, 0.2, 0.1, -0.1, 0.3],
        ]
        let lrs: [Float] = [0.01, 0.02, 0.005]
        for (t, g) in gradients.enumerated() {
            for (k, p) in [(0, w), (3, b)] { for i in 0..<p.count { store.gradient(p)[i] = g[k + i] } }
            opt.update(store, learningRate: lrs[t])
            let lr = Double(lrs[t]), step = Double(t + 1)
            for i in 0..<5 {
                if decays[i] { refP[i] *= 1 - lr * 0.1 }
                refM[i] = 0.9 * refM[i] + 0.1 * Double(g[i])
                refV[i] = 0.99 * refV[i] + 0.01 * Double(g[i]) * Double(g[i])
                let mHat = refM[i] / (1 - pow(0.9, step)), vHat = refV[i] / (1 - pow(0.99, step))
                refP[i] -= lr * mHat / (vHat.squareRoot() + 1e-8)
            }
        }
        var k = 0
        for p in params {
            for i in 0..<p.count { XCTAssertEqual(Double(store.value(p)[i]), refP[k], accuracy: 1e-6); k += 1 }
        }
        XCTAssertEqual(opt.step, 3)
    }

    func testClipGradientNorm() {
        var layout = ParameterLayout()
        let p = layout.add("p", shape: [2], initializer: .zeros)
        let store = ParameterStore(layout: layout)
        store.gradient(p)[0] = 3; store.gradient(p)[1] = 4
        XCTAssertEqual(clipGradientNorm(store, maxNorm: 1), 5, accuracy: 1e-6)
        XCTAssertEqual(store.gradient(p)[0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(store.gradient(p)[1], 0.8, accuracy: 1e-6)
        XCTAssertEqual(clipGradientNorm(store, maxNorm: 10), 1, accuracy: 1e-6)
        XCTAssertEqual(store.gradient(p)[0], 0.6, accuracy: 1e-6)
    }

    func testWarmupCosineSchedule() {
        let s = WarmupCosineSchedule(peak: 1e-3, floor: 1e-5, warmupSteps: 10, totalSteps: 110)
        XCTAssertEqual(s.rate(step: 0, epoch: 0), 1e-4, accuracy: 1e-9)
        XCTAssertEqual(s.rate(step: 9, epoch: 0), 1e-3, accuracy: 1e-9)
        XCTAssertEqual(s.rate(step: 10, epoch: 0), 1e-3, accuracy: 1e-9)
        XCTAssertEqual(s.rate(step: 60, epoch: 0), 1e-5 + (1e-3 - 1e-5) * 0.5, accuracy: 1e-9)
        XCTAssertEqual(s.rate(step: 110, epoch: 0), 1e-5, accuracy: 1e-9)
        XCTAssertEqual(s.rate(step: 500, epoch: 0), 1e-5, accuracy: 1e-9)
    }

    func testStepDecayScheduleAsConMH() {
        let s = StepDecaySchedule(base: 1e-4, gamma: 0.9, period: 20, floor: 1e-5)
        XCTAssertEqual(s.rate(step: 0, epoch: 0), 1e-4, accuracy: 1e-12)
        XCTAssertEqual(s.rate(step: 0, epoch: 19), 1e-4, accuracy: 1e-12)
        XCTAssertEqual(s.rate(step: 0, epoch: 20), 9e-5, accuracy: 1e-11)
        XCTAssertEqual(s.rate(step: 0, epoch: 45), 8.1e-5, accuracy: 1e-11)
        XCTAssertEqual(s.rate(step: 0, epoch: 10_000), 1e-5, accuracy: 1e-12)  // floored
    }

    func testParameterLayoutIsAlignedAndPaddingStaysZero() {
        var layout = ParameterLayout()
        let a = layout.add("a", shape: [3, 5], initializer: .normal(std: 1))
        let b = layout.add("b", shape: [7], initializer: .ones)
        XCTAssertEqual(a.offset, 0)
        XCTAssertEqual(b.offset, 16)
        XCTAssertEqual(layout.count, 32)
        let store = ParameterStore(layout: layout)
        store.initialize(Philox(seed: 1))
        XCTAssertEqual(store.parameterCount, 22)
        XCTAssertEqual(store.values[15], 0)
        for i in 23..<32 { XCTAssertEqual(store.values[i], 0) }
        XCTAssertEqual(store.parameter(named: "b"), b)
        // Initialisation is per-name: the same seed gives the same values whatever else exists.
        var other = ParameterLayout()
        let b2 = other.add("b", shape: [7], initializer: .normal(std: 1))
        let a2 = other.add("a", shape: [3, 5], initializer: .normal(std: 1))
        let store2 = ParameterStore(layout: other)
        store2.initialize(Philox(seed: 1))
        _ = b2
        for i in 0..<15 { XCTAssertEqual(store2.value(a2)[i], store.value(a)[i]) }
    }

    /// The engine learns: the toy frame-order task goes from chance (ln 8 ≈ 2.08 nats) to
    /// below 0.5 nats and above 80% of frames placed correctly.
    func testTinyModelLearnsToyTask() {
        var options = ToyTrainer.Options()
        options.steps = 200
        let trainer = ToyTrainer(options)
        var first = Double.nan
        let final = trainer.train(.local) { if $0.step == 1 { first = $0.loss } }
        XCTAssertGreaterThan(first, 1.9)
        XCTAssertLessThan(final.loss, 0.5, "final loss \(final.loss)")
        XCTAssertGreaterThan(final.accuracy, 0.8)
    }
}

final class DropoutTests: XCTestCase {
    /// Keep rate 1−p with survivors scaled by 1/(1−p); the same generator state replays the
    /// same mask; backward multiplies by that mask.
    func testMaskStatisticsReplayAndBackward() {
        let dropout = Dropout(probability: 0.25)
        let n = 100_000
        let x = Tensor(shape: [n]), mask = Tensor(shape: [n])
        x.fill(1)
        let start = Philox(seed: 5).split("dropout")
        var rng = start
        dropout.forward(x.pointer, mask: mask.pointer, count: n, rng: &rng)
        let kept = x.toArray().filter { $0 != 0 }
        XCTAssertEqual(Double(kept.count) / Double(n), 0.75, accuracy: 0.01)
        XCTAssertTrue(kept.allSatisfy { abs($0 - 1 / 0.75) < 1e-6 })
        XCTAssertEqual(x.toArray(), mask.toArray())
        let replayed = Tensor(shape: [n]), replayMask = Tensor(shape: [n])
        replayed.fill(1)
        var again = Philox(state: start.state)
        dropout.forward(replayed.pointer, mask: replayMask.pointer, count: n, rng: &again)
        XCTAssertEqual(replayMask.toArray(), mask.toArray())
        let dy = Tensor(shape: [n])
        dy.fill(2)
        dropout.backward(dy.pointer, mask: mask.pointer, count: n)
        for i in stride(from: 0, to: n, by: 997) { XCTAssertEqual(dy[i], 2 * mask[i]) }
        XCTAssertFalse(Dropout(probability: 0).isActive)
    }

    /// The vectorised mask kernel draws exactly what `nextUniform()` would, from any starting
    /// word (not only block boundaries), and consumes the same number of words.
    func testMaskKernelEqualsWordByWordDraws() {
        let dropout = Dropout(probability: 0.3)
        for (skip, n) in [(0, 64), (1, 37), (3, 5), (6, 1001)] {
            var kernel = Philox(seed: 9, stream: 4)
            kernel.skip(skip)
            var reference = kernel
            let mask = Tensor(shape: [n])
            dropout.drawMask(mask.pointer, count: n, rng: &kernel)
            let expected = (0..<n).map { _ in reference.nextUniform() < 0.7 ? Float(1 / 0.7) : 0 }
            XCTAssertEqual(mask.toArray(), expected, "skip \(skip), count \(n)")
            XCTAssertEqual(kernel.state, reference.state)
            XCTAssertEqual(kernel.nextUniform(), reference.nextUniform())
        }
    }

    /// A slice of a sequence-addressed draw holds exactly the whole batch's numbers for its sequences.
    func testSequenceRandomSlicesMatchTheWholeBatch() {
        var parent = Philox(seed: 21)
        var whole = SequenceRandom(&parent, sequences: 5)
        var firstDraw = whole.nextDraw(valuesPerSequence: 3)
        var secondDraw = whole.nextDraw(valuesPerSequence: 2)
        let all1 = (0..<15).map { _ in firstDraw.next32() }, all2 = (0..<10).map { _ in secondDraw.next32() }
        var slice = SequenceRandom(seed: whole.seed, stream: whole.stream, sequences: 5).slice(first: 2, count: 2)
        var g1 = slice.nextDraw(valuesPerSequence: 3), g2 = slice.nextDraw(valuesPerSequence: 2)
        XCTAssertEqual((0..<6).map { _ in g1.next32() }, Array(all1[6..<12]))
        XCTAssertEqual((0..<4).map { _ in g2.next32() }, Array(all2[4..<8]))
    }
}
