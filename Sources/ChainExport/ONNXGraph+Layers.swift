import ChainNN
import ChainNumerics

/// The engine's layers as ONNX nodes, over activations laid out (N, k, L, width): N videos, k
/// interleaved sequences per video, L frames per sequence. Each function mirrors the layer's
/// `forward` at inference (no dropout, no mask token) and reads the weights from `store`.
extension ONNXGraph {
    /// y = x·Wᵀ + b: MatMul with Wᵀ stored [in, out], then Add. `outputs` selects a band of
    /// W's rows (the Q, K or V part of a packed projection); its name goes into the weights'.
    mutating func linear(
        _ x: String, _ layer: Linear, _ store: ParameterStore, outputs: Range<Int>? = nil, name: String
    ) -> String {
        let rows = outputs ?? 0..<layer.outputSize
        let input = layer.inputSize
        let w = store.value(layer.weight)
        var transposed = [Float](repeating: 0, count: input * rows.count)
        for (o, row) in rows.enumerated() {
            for i in 0..<input { transposed[i * rows.count + o] = w[row * input + i] }
        }
        let weight = constant(name + ".weight_t", floats: transposed, shape: [input, rows.count])
        let product = node("MatMul", [x, weight], output: name + ".matmul")
        guard let bias = layer.bias else { return product }
        let b = store.value(bias)
        let biasValues = rows.map { b[$0] }
        return node("Add", [product, constant(name + ".bias", floats: biasValues, shape: [rows.count])], output: name)
    }

    /// LayerNormalization over the last axis (opset 17), ε and the affine parameters of `norm`.
    mutating func layerNorm(_ x: String, _ norm: LayerNorm, _ store: ParameterStore, name: String) -> String {
        let ones = [Float](repeating: 1, count: norm.size), zeros = [Float](repeating: 0, count: norm.size)
        let gamma = norm.gamma.map { Array(UnsafeBufferPointer(start: store.value($0), count: norm.size)) } ?? ones
        let beta = norm.beta.map { Array(UnsafeBufferPointer(start: store.value($0), count: norm.size)) } ?? zeros
        return node(
            "LayerNormalization",
            [
                x, constant(name + ".weight", floats: gamma, shape: [norm.size]),
                constant(name + ".bias", floats: beta, shape: [norm.size]),
            ],
            [.int("axis", -1), .float("epsilon", norm.epsilon)], output: name)
    }

    /// The exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)), from Erf (opset 9 and later).
    mutating func gelu(_ x: String, name: String) -> String {
        let scaled = node("Mul", [x, scalar(name + ".inv_sqrt2", Float(0.5.squareRoot()))], output: name + ".scaled")
        let erf = node("Erf", [scaled], output: name + ".erf")
        let onePlus = node("Add", [erf, scalar(name + ".one", 1)], output: name + ".one_plus")
        let half = node("Mul", [x, scalar(name + ".half", 0.5)], output: name + ".half_x")
        return node("Mul", [half, onePlus], output: name)
    }

    /// Multi-head self-attention on x (N, k, L, d): Q, K, V projections, heads split to
    /// (N, k, h, L, dh), softmax(Q·Kᵀ/√dh)·V, heads joined, output projection.
    mutating func attention(_ x: String, _ mha: MultiHeadAttention, _ store: ParameterStore, name: String) -> String {
        let heads = mha.core.heads, dh = mha.core.headSize, inner = mha.core.innerSize
        let split = constant(name + ".split_heads", int64s: [0, 0, 0, Int64(heads), Int64(dh)], shape: [5])
        func projected(_ part: Int, _ label: String) -> String {
            let p = linear(
                x, mha.inProjection, store, outputs: (part * inner)..<((part + 1) * inner), name: name + label)
            let r = node("Reshape", [p, split], output: name + label + ".heads")
            return node("Transpose", [r], [.ints("perm", [0, 1, 3, 2, 4])], output: name + label + ".by_head")
        }
        // (N, k, h, L, dh) each; keys transposed to (N, k, h, dh, L).
        let query = projected(0, ".q"), key = projected(1, ".k"), value = projected(2, ".v")
        let keyT = node("Transpose", [key], [.ints("perm", [0, 1, 2, 4, 3])], output: name + ".k_t")
        let dot = node("MatMul", [query, keyT], output: name + ".dot")  // (N, k, h, L, L)
        let scores = node(
            "Mul", [dot, scalar(name + ".scale", 1 / Float(dh).squareRoot())], output: name + ".scores")
        let probs = node("Softmax", [scores], [.int("axis", -1)], output: name + ".probs")
        let context = node("MatMul", [probs, value], output: name + ".context_by_head")  // (N, k, h, L, dh)
        let byFrame = node("Transpose", [context], [.ints("perm", [0, 1, 3, 2, 4])], output: name + ".context_t")
        let join = constant(name + ".join_heads", int64s: [0, 0, 0, Int64(inner)], shape: [4])
        let joined = node("Reshape", [byFrame, join], output: name + ".context")  // (N, k, L, h·dh)
        return linear(joined, mha.outProjection, store, name: name + ".out_proj")
    }

    /// fc2(GELU(fc1(x))).
    mutating func feedForward(_ x: String, _ block: TransformerBlock, _ store: ParameterStore, name: String) -> String {
        let hidden = linear(x, block.fc1, store, name: name + ".fc1")
        return linear(gelu(hidden, name: name + ".gelu"), block.fc2, store, name: name + ".fc2")
    }

    /// One transformer block. pre: m = x + attn(LN1(x)); y = m + ffn(LN2(m)).
    /// post: m = LN1(x + attn(x)); y = LN2(m + ffn(m)).
    mutating func block(_ x: String, _ block: TransformerBlock, _ store: ParameterStore, name: String) -> String {
        switch block.placement {
        case .pre:
            let a = attention(
                layerNorm(x, block.norm1, store, name: name + ".norm1"), block.attention, store,
                name: name + ".attn")
            let mid = node("Add", [x, a], output: name + ".mid")
            let f = feedForward(layerNorm(mid, block.norm2, store, name: name + ".norm2"), block, store, name: name)
            return node("Add", [mid, f], output: name + ".out")
        case .post:
            let a = attention(x, block.attention, store, name: name + ".attn")
            let mid = layerNorm(
                node("Add", [x, a], output: name + ".residual1"), block.norm1, store,
                name: name + ".norm1")
            let f = feedForward(mid, block, store, name: name)
            return layerNorm(
                node("Add", [mid, f], output: name + ".residual2"), block.norm2, store,
                name: name + ".norm2")
        }
    }

    /// The encoder on frames x (N, k, L, F) at `positions` (k, L) int64: projection, positional
    /// table rows (Gather), the blocks, the final LayerNorm. Returns (N, k, L, d).
    mutating func encoder(
        _ x: String, positions: String, _ encoder: TransformerEncoder, _ store: ParameterStore, name: String
    ) -> String {
        let c = encoder.config
        let projected = linear(x, encoder.projection, store, name: name + ".proj")
        let table = constant(
            name + ".pos.table", floats: encoder.positional.tableValues(store), shape: [c.maxPositions, c.modelSize])
        let rows = node("Gather", [table, positions], [.int("axis", 0)], output: name + ".pos.rows")
        var h = node("Add", [projected, rows], output: name + ".embedded")
        for (l, b) in encoder.blocks.enumerated() { h = block(h, b, store, name: "\(name).blocks.\(l)") }
        if let norm = encoder.finalNorm { h = layerNorm(h, norm, store, name: name + ".norm") }
        return h
    }

    /// The hash layer's h = LN(x·Wᵀ + b [+ f·Sᵀ + c]) on x (N, k, L, d), with the frames'
    /// input features f (N, k, L, F) when it has a shortcut. Returns (N, k, L, bits).
    mutating func hashValues(
        _ x: String, input: String, _ hash: HashLayer, _ store: ParameterStore, name: String
    ) -> String {
        var projected = linear(x, hash.linear, store, name: name + ".linear")
        if let shortcut = hash.shortcut {
            let s = linear(input, shortcut, store, name: name + ".shortcut")
            projected = node("Add", [projected, s], output: name + ".with_shortcut")
        }
        return layerNorm(projected, hash.norm, store, name: name + ".norm")
    }
}
