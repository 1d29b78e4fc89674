import ChainNN
import ChainNumerics
import ChainTestSupport
import ChainToy
import XCTest

/// End-to-end gradient checks of small models and of the hash layer's straight-through rule.
final class ModelGradientTests: XCTestCase {
    /// Encoder (projection, learned positions, 2 blocks, final norm) → hash layer, with the
    /// hash layer in its hard-tanh (straight-through surrogate) form; inputs and parameters.
    /// With the input shortcut the features also reach the hash layer directly (the
    /// shortcut's weights are checked; its input is data, so only the encoder's dx is formed).
    func testEncoderWithHashLayerEndToEnd() {
        for (placement, shortcut) in [(NormPlacement.pre, false), (.post, false), (.pre, true)] {
            var layout = ParameterLayout()
            let config = EncoderConfig(
                inputSize: 6, modelSize: 8, layers: 2, heads: 2, headSize: 3, ffnSize: 12,
                maxPositions: 7, positional: .learned, placement: placement, dropout: 0.1)
            let encoder = TransformerEncoder("enc", config: config, layout: &layout)
            let hash = HashLayer("hash", inputSize: 8, bits: 5, shortcutInputSize: shortcut ? 6 : nil, layout: &layout)
            let store = ParameterStore(layout: layout)
            let batch = 2, t = 4, rows = batch * t
            let encActs = TransformerEncoder.Activations(encoder, maxBatch: batch, seqLen: t)
            let hashActs = HashLayer.Activations(hash, maxRows: rows)
            let features = TestData.tensor([rows, 6], seed: 31), codes = Tensor(shape: [rows, 5])
            let dHidden = Tensor(shape: [rows, 8]), dFeatures = Tensor(shape: [rows, 6])
            let positions: [Int32] = [0, 2, 4, 6, 1, 3, 5, 0]
            let w = TestData.gaussian(rows * 5, seed: 32)
            func loss() -> Double {
                var rng = Philox(seed: 33)
                let h = positions.withUnsafeBufferPointer {
                    encoder.forward(
                        features.pointer, positions: $0.baseAddress!, batch: batch, encActs, store, rng: &rng,
                        training: true)
                }
                hash.forward(
                    h, codes.pointer, rows: rows, hashActs, store, activation: .hardTanh,
                    input: shortcut ? UnsafePointer(features.pointer) : nil)
                return TestData.weightedSum(codes.pointer, w)
            }
            // Finite differences across a hard-tanh kink (|h| = 1) measure a one-sided slope, so
            // take the first initialisation seed whose h values all stay 0.05 from the kinks.
            let seed = (30..<90).first { (s: UInt64) -> Bool in
                store.initialize(Philox(seed: s))
                if let weight = hash.shortcut?.weight {  // zero-initialised: make it count
                    for (k, v) in TestData.gaussian(weight.count, seed: s).enumerated() {
                        store.value(weight)[k] = 0.3 * v
                    }
                }
                _ = loss()
                return hashActs.normalized.toArray().prefix(rows * 5).allSatisfy { abs(abs($0) - 1) > 0.05 }
            }
            XCTAssertNotNil(seed, "no kink-free fixture found")
            store.zeroGradients()
            let hidden = encActs.output.pointer
            w.withUnsafeBufferPointer {
                hash.backward(
                    hidden, $0.baseAddress!, dHidden.pointer, rows: rows, hashActs, store,
                    input: shortcut ? UnsafePointer(features.pointer) : nil)
            }
            positions.withUnsafeBufferPointer {
                encoder.backward(
                    features.pointer, positions: $0.baseAddress!, dOutput: dHidden.pointer, encActs, store,
                    dFeatures: dFeatures.pointer)
            }
            // The shortcut fixture is more curved (gradients of ~10² reach the projection), so a
            // smaller step keeps the central difference's truncation error inside tolerance.
            let checker = GradientCheck(epsilon: shortcut ? 2e-3 : 1e-2)
            let p = checker.checkParameters(store, perParameter: 12, loss: loss)
            XCTAssertTrue(p.passed, "\(placement): \(p)")
            if shortcut {
                let s = store.gradient(hash.shortcut!.weight)
                XCTAssertGreaterThan((0..<30).map { abs(s[$0]) }.max()!, 0, "the shortcut's weights get a gradient")
                continue
            }
            let i = checker.checkInput(
                "features", values: features.pointer, count: features.count,
                analytic: dFeatures.toArray(), loss: loss)
            XCTAssertTrue(i.passed, "\(placement): \(i)")
        }
    }

    func testHashLayerSignAndStraightThroughGate() {
        var layout = ParameterLayout()
        let hash = HashLayer("hash", inputSize: 4, bits: 8, layout: &layout)
        let store = ParameterStore(layout: layout)
        store.initialize(Philox(seed: 34))
        let acts = HashLayer.Activations(hash, maxRows: 3)
        let x = TestData.tensor([3, 4], seed: 35), codes = Tensor(shape: [3, 8])
        hash.forward(x.pointer, codes.pointer, rows: 3, acts, store, activation: .sign)
        let h = acts.normalized.toArray()
        for k in 0..<24 { XCTAssertEqual(codes[k], h[k] < 0 ? -1 : 1) }
        // The STE gate: entries with |h| ≥ 1 pass no gradient into the layer.
        let dCodes = Tensor(shape: [3, 8]), dx = Tensor(shape: [3, 4])
        for k in 0..<24 where abs(h[k]) >= 1 { dCodes[k] = 1 }
        XCTAssertTrue((0..<24).contains { abs(h[$0]) >= 1 }, "fixture needs saturated entries")
        store.zeroGradients()
        hash.backward(x.pointer, dCodes.pointer, dx.pointer, rows: 3, acts, store)
        XCTAssertEqual(store.gradients.toArray().map(abs).max(), 0)
        XCTAssertEqual(dx.toArray().map(abs).max(), 0)
    }

    func testSignOfZeroIsPlusOne() {
        var layout = ParameterLayout()
        let hash = HashLayer("hash", inputSize: 2, bits: 3, layout: &layout)
        let store = ParameterStore(layout: layout)  // all-zero weights and LN shift: h = 0
        let acts = HashLayer.Activations(hash, maxRows: 1)
        let x = Tensor(shape: [1, 2], values: [0.3, -0.7]), codes = Tensor(shape: [1, 3])
        hash.forward(x.pointer, codes.pointer, rows: 1, acts, store)
        XCTAssertEqual(codes.toArray(), [1, 1, 1])
    }

    /// The toy model (encoder → order head → cross-entropy), parameters end to end.
    func testToyModelGradients() {
        var config = FrameOrderToy.Config()
        config.frames = 5; config.featureSize = 6; config.modelSize = 8; config.heads = 2; config.ffnSize = 12
        let toy = FrameOrderToy(config: config, seed: 3)
        let batch = toy.batch(step: 0, clips: 2)
        let workspace = FrameOrderToy.Workspace(toy, maxClips: 2)
        toy.store.zeroGradients()
        _ = toy.lossAndGradient(batch, workspace)
        let analytic = toy.store.gradients.toArray()
        let scratch = Tensor(shape: [toy.store.layout.count])
        let r = GradientCheck().checkParameters(toy.store, perParameter: 10) {
            scratch.copy(from: toy.store.gradients)
            let l = toy.lossAndGradient(batch, workspace).loss
            toy.store.gradients.copy(from: scratch)
            return l
        }
        XCTAssertEqual(toy.store.gradients.toArray(), analytic)
        XCTAssertTrue(r.passed, "\(r)")
    }

    /// The checker must be able to fail: a gradient that is 5% off, or missing one term, is caught.
    func testGradientCheckDetectsWrongGradients() {
        var layout = ParameterLayout()
        let layer = Linear("fc", inputSize: 4, outputSize: 3, layout: &layout)
        let store = ParameterStore(layout: layout)
        store.initialize(Philox(seed: 36))
        let x = TestData.tensor([2, 4], seed: 37), y = Tensor(shape: [2, 3])
        let w = TestData.gaussian(6, seed: 38)
        func loss() -> Double {
            layer.forward(x.pointer, y.pointer, rows: 2, store); return TestData.weightedSum(y.pointer, w)
        }
        _ = loss()
        store.zeroGradients()
        w.withUnsafeBufferPointer { layer.backward(x.pointer, $0.baseAddress!, nil, rows: 2, store) }
        XCTAssertTrue(GradientCheck().checkParameters(store, loss: loss).passed)
        VectorMath.scale(store.gradients.pointer, by: 1.05, count: store.gradients.count)
        XCTAssertFalse(GradientCheck().checkParameters(store, loss: loss).passed)
        VectorMath.scale(store.gradients.pointer, by: 1 / 1.05, count: store.gradients.count)
        store.gradient(layer.bias!).update(repeating: 0, count: 3)  // "forgot" the bias term
        XCTAssertFalse(GradientCheck().checkParameters(store, loss: loss).passed)
    }
}
