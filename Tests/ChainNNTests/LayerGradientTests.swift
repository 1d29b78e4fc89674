import ChainNN
import ChainNumerics
import ChainTestSupport
import XCTest

/// Finite-difference checks of every layer's backward pass, inputs and parameters.
final class LayerGradientTests: XCTestCase {
    let checker = GradientCheck()

    func testLinearGradients() {
        var layout = ParameterLayout()
        let layer = Linear("fc", inputSize: 7, outputSize: 5, layout: &layout)
        let store = ParameterStore(layout: layout)
        store.initialize(Philox(seed: 1))
        let rows = 4
        let x = TestData.tensor([rows, 7], seed: 2), y = Tensor(shape: [rows, 5]), dx = Tensor(shape: [rows, 7])
        let w = TestData.gaussian(rows * 5, seed: 3)
        func loss() -> Double {
            layer.forward(x.pointer, y.pointer, rows: rows, store); return TestData.weightedSum(y.pointer, w)
        }
        _ = loss()
        store.zeroGradients()
        w.withUnsafeBufferPointer { layer.backward(x.pointer, $0.baseAddress!, dx.pointer, rows: rows, store) }
        let p = checker.checkParameters(store, loss: loss)
        XCTAssertTrue(p.passed, "\(p)")
        let i = checker.checkInput("x", values: x.pointer, count: x.count, analytic: dx.toArray(), loss: loss)
        XCTAssertTrue(i.passed, "\(i)")
    }

    func testLayerNormGradients() {
        var layout = ParameterLayout()
        let norm = LayerNorm("ln", size: 9, layout: &layout)
        let store = ParameterStore(layout: layout)
        // Non-trivial affine parameters, so dγ and the γ-scaled input gradient are both exercised.
        for (k, v) in TestData.gaussian(layout.count, seed: 4, scale: 0.5).enumerated() {
            store.values.pointer[k] = 1 + v
        }
        let rows = 3
        let x = TestData.tensor([rows, 9], seed: 5, scale: 2), y = Tensor(shape: [rows, 9])
        let stats = Tensor(shape: [rows, 2]), dx = Tensor(shape: [rows, 9])
        let w = TestData.gaussian(rows * 9, seed: 6)
        func loss() -> Double {
            norm.forward(x.pointer, y.pointer, stats: stats.pointer, rows: rows, store)
            return TestData.weightedSum(y.pointer, w)
        }
        _ = loss()
        w.withUnsafeBufferPointer {
            norm.backward(x.pointer, $0.baseAddress!, dx.pointer, stats: stats.pointer, rows: rows, store)
        }
        XCTAssertTrue(checker.checkParameters(store, loss: loss).passed)
        let i = checker.checkInput("x", values: x.pointer, count: x.count, analytic: dx.toArray(), loss: loss)
        XCTAssertTrue(i.passed, "\(i)")
    }

    func testLayerNormWithoutAffineAndAccumulation() {
        var layout = ParameterLayout()
        let norm = LayerNorm("ln", size: 6, affine: false, layout: &layout)
        XCTAssertEqual(layout.parameters.count, 0)
        let store = ParameterStore(layout: layout)
        let x = TestData.tensor([2, 6], seed: 7), y = Tensor(shape: [2, 6]), stats = Tensor(shape: [2, 2])
        norm.forward(x.pointer, y.pointer, stats: stats.pointer, rows: 2, store)
        for r in 0..<2 {
            let row = Array(y.toArray()[(r * 6)..<(r * 6 + 6)])
            let mean = row.reduce(0, +) / 6
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 6
            XCTAssertEqual(mean, 0, accuracy: 1e-6)
            XCTAssertEqual(variance, 1, accuracy: 1e-3)  // ε = 1e-5 keeps it just under 1
        }
        // accumulateInput adds to what dx holds.
        let dy = TestData.tensor([2, 6], seed: 8), dx1 = Tensor(shape: [2, 6]), dx2 = Tensor(shape: [2, 6])
        norm.backward(x.pointer, dy.pointer, dx1.pointer, stats: stats.pointer, rows: 2, store)
        dx2.fill(1)
        norm.backward(x.pointer, dy.pointer, dx2.pointer, stats: stats.pointer, rows: 2, store, accumulateInput: true)
        for k in 0..<12 { XCTAssertEqual(dx2[k], dx1[k] + 1, accuracy: 1e-6) }
    }

    func testGELUGradientAndValues() {
        let n = 40
        let x = Tensor(shape: [n], values: (0..<n).map { Float($0 - 20) * 0.25 + 0.013 })
        let y = Tensor(shape: [n]), dx = Tensor(shape: [n])
        let w = TestData.gaussian(n, seed: 9)
        func loss() -> Double {
            GELU.forward(x.pointer, y.pointer, count: n); return TestData.weightedSum(y.pointer, w)
        }
        _ = loss()
        for k in 0..<n {
            let v = Double(x[k])
            XCTAssertEqual(Double(y[k]), 0.5 * v * (1 + erf(v / 2.0.squareRoot())), accuracy: 2e-6 * max(1, abs(v)))
        }
        w.withUnsafeBufferPointer { GELU.backward(x.pointer, $0.baseAddress!, dx.pointer, count: n) }
        let r = GradientCheck(epsilon: 1e-3).checkInput(
            "x", values: x.pointer, count: n, analytic: dx.toArray(), loss: loss)
        XCTAssertTrue(r.passed, "\(r)")
    }

    /// Attention with heads·headSize ≠ d, a key-padding mask and attention dropout.
    func testMultiHeadAttentionGradients() {
        for (masked, dropout) in [(false, Float(0)), (true, 0), (true, 0.3)] {
            var layout = ParameterLayout()
            let attn = MultiHeadAttention(
                "attn", modelSize: 12, heads: 3, headSize: 5, dropout: dropout, layout: &layout)
            let store = ParameterStore(layout: layout)
            store.initialize(Philox(seed: 10))
            let batch = 2, t = 5, rows = batch * t
            let acts = MultiHeadAttention.Activations(attn, maxBatch: batch, seqLen: t)
            let x = TestData.tensor([rows, 12], seed: 11), y = Tensor(shape: [rows, 12]),
                dx = Tensor(shape: [rows, 12])
            let w = TestData.gaussian(rows * 12, seed: 12)
            var padding = [Bool](repeating: false, count: rows)
            if masked { padding[3] = true; padding[4] = true; padding[9] = true }
            func loss() -> Double {
                var random = SequenceRandom(seed: 13, stream: 0, sequences: batch)  // the same dropout mask every time
                padding.withUnsafeBufferPointer {
                    attn.forward(
                        x.pointer, y.pointer, batch: batch, keyPadding: masked ? $0.baseAddress! : nil, acts, store,
                        random: &random, training: true)
                }
                return TestData.weightedSum(y.pointer, w)
            }
            _ = loss()
            store.zeroGradients()
            w.withUnsafeBufferPointer {
                attn.backward(x.pointer, $0.baseAddress!, dx.pointer, batch: batch, acts, store)
            }
            let p = checker.checkParameters(store, perParameter: 30, loss: loss)
            XCTAssertTrue(p.passed, "masked \(masked) dropout \(dropout): \(p)")
            let i = checker.checkInput("x", values: x.pointer, count: x.count, analytic: dx.toArray(), loss: loss)
            XCTAssertTrue(i.passed, "masked \(masked) dropout \(dropout): \(i)")
        }
    }

    /// heads·headSize = 264: more than 256 floats of key-bias gradient to set aside in
    /// backward (a release-build crash before; see MultiHeadAttention.backward).
    func testWideAttentionGradients() {
        var layout = ParameterLayout()
        let attn = MultiHeadAttention("attn", modelSize: 16, heads: 2, headSize: 132, layout: &layout)
        let store = ParameterStore(layout: layout)
        store.initialize(Philox(seed: 20))
        let batch = 2, t = 3, rows = batch * t
        let acts = MultiHeadAttention.Activations(attn, maxBatch: batch, seqLen: t)
        let x = TestData.tensor([rows, 16], seed: 21), y = Tensor(shape: [rows, 16]), dx = Tensor(shape: [rows, 16])
        let w = TestData.gaussian(rows * 16, seed: 22)
        func loss() -> Double {
            var random = SequenceRandom(seed: 23, stream: 0, sequences: batch)
            attn.forward(
                x.pointer, y.pointer, batch: batch, keyPadding: nil, acts, store, random: &random, training: true)
            return TestData.weightedSum(y.pointer, w)
        }
        _ = loss()
        store.zeroGradients()
        w.withUnsafeBufferPointer { attn.backward(x.pointer, $0.baseAddress!, dx.pointer, batch: batch, acts, store) }
        let p = checker.checkParameters(store, perParameter: 10, loss: loss)
        XCTAssertTrue(p.passed, "\(p)")
        let i = checker.checkInput("x", values: x.pointer, count: x.count, analytic: dx.toArray(), loss: loss)
        XCTAssertTrue(i.passed, "\(i)")
    }

    func testKeyPaddingMaskHidesKeys() {
        var layout = ParameterLayout()
        let attn = MultiHeadAttention("attn", modelSize: 8, heads: 2, headSize: 4, layout: &layout)
        let store = ParameterStore(layout: layout)
        store.initialize(Philox(seed: 14))
        let acts = MultiHeadAttention.Activations(attn, maxBatch: 1, seqLen: 4)
        let x = TestData.tensor([4, 8], seed: 15), y1 = Tensor(shape: [4, 8]), y2 = Tensor(shape: [4, 8])
        let padding = [false, false, true, true]
        var random = SequenceRandom(seed: 0, stream: 0, sequences: 1)
        padding.withUnsafeBufferPointer {
            attn.forward(
                x.pointer, y1.pointer, batch: 1, keyPadding: $0.baseAddress!, acts, store, random: &random,
                training: false)
        }
        // Changing the padded frames must not change the outputs at the real frames.
        for k in 16..<32 { x.pointer[k] += 5 }
        padding.withUnsafeBufferPointer {
            attn.forward(
                x.pointer, y2.pointer, batch: 1, keyPadding: $0.baseAddress!, acts, store, random: &random,
                training: false)
        }
        for k in 0..<16 { XCTAssertEqual(y1[k], y2[k], accuracy: 1e-6) }
        // Padded positions receive zero attention probability.
        let probs = acts.probabilities.toArray()
        for q in 0..<(2 * 4) { XCTAssertEqual(probs[q * 4 + 2], 0); XCTAssertEqual(probs[q * 4 + 3], 0) }
    }

    func testTransformerBlockGradients() {
        for placement in NormPlacement.allCases {
            for dropout in [Float(0), 0.2] {
                var layout = ParameterLayout()
                let block = TransformerBlock(
                    "b", modelSize: 8, heads: 2, headSize: 4, ffnSize: 16, placement: placement,
                    dropout: dropout, attentionDropout: dropout, layout: &layout)
                let store = ParameterStore(layout: layout)
                store.initialize(Philox(seed: 16))
                let batch = 2, t = 4, rows = batch * t
                let acts = TransformerBlock.Activations(block, maxBatch: batch, seqLen: t)
                let scratch = TransformerBlock.Scratch(maxRows: rows, modelSize: 8, ffnSize: 16)
                let x = TestData.tensor([rows, 8], seed: 17), y = Tensor(shape: [rows, 8]),
                    dx = Tensor(shape: [rows, 8])
                let w = TestData.gaussian(rows * 8, seed: 18)
                func loss() -> Double {
                    var random = SequenceRandom(seed: 19, stream: 0, sequences: batch)
                    block.forward(
                        x.pointer, y.pointer, batch: batch, keyPadding: nil, acts, store, random: &random,
                        training: true)
                    return TestData.weightedSum(y.pointer, w)
                }
                _ = loss()
                store.zeroGradients()
                w.withUnsafeBufferPointer {
                    block.backward(x.pointer, $0.baseAddress!, dx.pointer, batch: batch, acts, scratch, store)
                }
                let p = checker.checkParameters(store, loss: loss)
                XCTAssertTrue(p.passed, "\(placement) dropout \(dropout): \(p)")
                let i = checker.checkInput("x", values: x.pointer, count: x.count, analytic: dx.toArray(), loss: loss)
                XCTAssertTrue(i.passed, "\(placement) dropout \(dropout): \(i)")
            }
        }
    }

    func testLearnedPositionalEmbeddingGradient() {
        // PE = s·θ: the forward adds s·θ[p], the gradient is s·dy, and tableValues is s·θ.
        for scale: Float in [1, 3] {
            var layout = ParameterLayout()
            let pe = PositionalEmbedding(
                "pos", kind: .learned, maxPositions: 6, size: 4, scale: scale, layout: &layout)
            let store = ParameterStore(layout: layout)
            store.initialize(Philox(seed: 20))
            let theta = Array(UnsafeBufferPointer(start: store.value(pe.table!), count: 24))
            let positions: [Int32] = [5, 0, 5, 2]
            let base = TestData.tensor([4, 4], seed: 21), x = Tensor(shape: [4, 4])
            let w = TestData.gaussian(16, seed: 22)
            func loss() -> Double {
                x.copy(from: base)
                positions.withUnsafeBufferPointer { pe.forward(x.pointer, positions: $0.baseAddress!, rows: 4, store) }
                return TestData.weightedSum(x.pointer, w)
            }
            _ = loss()
            for r in 0..<4 {
                for c in 0..<4 {
                    let expected = base[r * 4 + c] + scale * theta[Int(positions[r]) * 4 + c]
                    XCTAssertEqual(x[r * 4 + c], expected, accuracy: 1e-6, "scale \(scale)")
                }
            }
            XCTAssertEqual(pe.tableValues(store), theta.map { scale * $0 }, "scale \(scale)")
            w.withUnsafeBufferPointer { dy in
                positions.withUnsafeBufferPointer {
                    pe.backward(dy.baseAddress!, positions: $0.baseAddress!, rows: 4, store)
                }
            }
            let r = checker.checkParameters(store, perParameter: 24, loss: loss)
            XCTAssertTrue(r.passed, "scale \(scale): \(r)")
            // Unused rows get exactly zero gradient; a repeated position gets the (scaled) sum.
            let g = store.gradient(pe.table!)
            for c in 0..<4 {
                XCTAssertEqual(g[1 * 4 + c], 0)
                XCTAssertEqual(g[5 * 4 + c], scale * (w[c] + w[8 + c]), accuracy: 1e-6 * scale, "scale \(scale)")
            }
        }
    }

    func testSinusoidalTable() {
        var layout = ParameterLayout()
        let pe = PositionalEmbedding("pos", kind: .sinusoidal, maxPositions: 10, size: 6, layout: &layout)
        XCTAssertEqual(layout.parameters.count, 0)
        let store = ParameterStore(layout: layout)
        let x = Tensor(shape: [1, 6])
        [Int32(7)].withUnsafeBufferPointer { pe.forward(x.pointer, positions: $0.baseAddress!, rows: 1, store) }
        for i in 0..<6 {
            let angle = 7 / pow(10000, Double(2 * (i / 2)) / 6)
            XCTAssertEqual(Double(x[i]), i % 2 == 0 ? sin(angle) : cos(angle), accuracy: 1e-6)
        }
        // A scaled table is the same table times the scale, at every position.
        let half = PositionalEmbedding("pos", kind: .sinusoidal, maxPositions: 10, size: 6, scale: 0.5, layout: &layout)
        for (a, b) in zip(half.tableValues(store), pe.tableValues(store)) { XCTAssertEqual(a, 0.5 * b) }
    }

    func testSoftmaxCrossEntropyGradient() {
        let rows = 5, classes = 4
        let logits = TestData.tensor([rows, classes], seed: 23, scale: 2), d = Tensor(shape: [rows, classes])
        let targets: [Int32] = [0, 3, -1, 2, 2]  // -1 is ignored
        func loss() -> Double {
            targets.withUnsafeBufferPointer {
                SoftmaxCrossEntropy.lossAndGradient(
                    logits: logits.pointer, targets: $0.baseAddress!, rows: rows,
                    classes: classes, dLogits: d.pointer
                ).loss
            }
        }
        _ = loss()
        let analytic = d.toArray()
        let r = GradientCheck(epsilon: 1e-3).checkInput(
            "logits", values: logits.pointer, count: logits.count, analytic: analytic, loss: loss)
        XCTAssertTrue(r.passed, "\(r)")
        for c in 0..<classes { XCTAssertEqual(analytic[2 * classes + c], 0) }
        // Hand-computed: uniform logits over 4 classes give ln 4.
        let flat = Tensor(shape: [1, 4]), dFlat = Tensor(shape: [1, 4])
        let value = [Int32(1)].withUnsafeBufferPointer {
            SoftmaxCrossEntropy.lossAndGradient(
                logits: flat.pointer, targets: $0.baseAddress!, rows: 1, classes: 4, dLogits: dFlat.pointer)
        }
        XCTAssertEqual(value.loss, log(4), accuracy: 1e-6)
        XCTAssertEqual(dFlat.toArray(), [0.25, -0.75, 0.25, 0.25])
    }
}
