import ChainNumerics

/// Where a transformer block applies layer normalisation.
public enum NormPlacement: String, Sendable, Codable, CaseIterable {
    /// x + f(LN(x)) — stable for deep stacks; CHAIN's default.
    case pre
    /// LN(x + f(x)) — the original transformer and PyTorch's TransformerEncoderLayer default.
    case post
}

/// One transformer encoder block: self-attention and a GELU feed-forward network, each with
/// a residual connection, layer norm before (`pre`) or after (`post`) and dropout on the
/// attention probabilities, the FFN hidden layer and both residual branches (PyTorch's
/// placement).
public struct TransformerBlock: Sendable {
    public let modelSize: Int
    public let ffnSize: Int
    public let placement: NormPlacement
    public let attention: MultiHeadAttention
    public let norm1: LayerNorm
    public let norm2: LayerNorm
    public let fc1: Linear
    public let fc2: Linear
    public let dropout: Dropout

    public init(
        _ name: String, modelSize: Int, heads: Int, headSize: Int, ffnSize: Int,
        placement: NormPlacement = .pre, dropout: Float = 0, attentionDropout: Float = 0,
        epsilon: Float = 1e-5, layout: inout ParameterLayout
    ) {
        self.modelSize = modelSize
        self.ffnSize = ffnSize
        self.placement = placement
        attention = MultiHeadAttention(
            "\(name).attn", modelSize: modelSize, heads: heads, headSize: headSize,
            dropout: attentionDropout, layout: &layout)
        norm1 = LayerNorm("\(name).norm1", size: modelSize, epsilon: epsilon, layout: &layout)
        fc1 = Linear("\(name).fc1", inputSize: modelSize, outputSize: ffnSize, layout: &layout)
        fc2 = Linear("\(name).fc2", inputSize: ffnSize, outputSize: modelSize, layout: &layout)
        norm2 = LayerNorm("\(name).norm2", size: modelSize, epsilon: epsilon, layout: &layout)
        self.dropout = Dropout(probability: dropout)
    }

    /// Saved activations of one block for one pass.
    public final class Activations: @unchecked Sendable {
        public let maxBatch: Int, seqLen: Int
        let attention: MultiHeadAttention.Activations
        /// pre: LN1(x). post: unused.
        let normA: Tensor
        let attnOut: Tensor
        /// pre: x + attn. post: x + attn before LN1.
        let mid: Tensor
        /// pre: LN2(mid). post: LN1(mid).
        let normB: Tensor
        /// hidden: fc1's output, overwritten by GELU'(fc1 output) in forward (all backward needs).
        let hidden: Tensor, activated: Tensor, ffnOut: Tensor
        /// post only: x1 + ffn before LN2.
        let beforeNorm2: Tensor
        let stats1: Tensor, stats2: Tensor
        let mask1: Tensor?, maskHidden: Tensor?, mask2: Tensor?
        var usedDropout = false

        public init(_ block: TransformerBlock, maxBatch: Int, seqLen: Int) {
            self.maxBatch = maxBatch
            self.seqLen = seqLen
            let rows = maxBatch * seqLen, d = block.modelSize, f = block.ffnSize
            attention = MultiHeadAttention.Activations(block.attention, maxBatch: maxBatch, seqLen: seqLen)
            normA = Tensor(shape: [block.placement == .pre ? rows : 0, d])
            attnOut = Tensor(shape: [rows, d])
            mid = Tensor(shape: [rows, d])
            normB = Tensor(shape: [rows, d])
            hidden = Tensor(shape: [rows, f])
            activated = Tensor(shape: [rows, f])
            ffnOut = Tensor(shape: [rows, d])
            beforeNorm2 = Tensor(shape: [block.placement == .post ? rows : 0, d])
            stats1 = Tensor(shape: [rows, 2])
            stats2 = Tensor(shape: [rows, 2])
            let drop = block.dropout.isActive
            mask1 = drop ? Tensor(shape: [rows, d]) : nil
            maskHidden = drop ? Tensor(shape: [rows, f]) : nil
            mask2 = drop ? Tensor(shape: [rows, d]) : nil
        }
    }

    /// Gradient buffers shared by all blocks of a stack (backward runs one block at a time).
    public final class Scratch: @unchecked Sendable {
        let d1: Tensor, d2: Tensor, d3: Tensor, dHidden: Tensor, dActivated: Tensor
        public init(maxRows: Int, modelSize: Int, ffnSize: Int) {
            d1 = Tensor(shape: [maxRows, modelSize])
            d2 = Tensor(shape: [maxRows, modelSize])
            d3 = Tensor(shape: [maxRows, modelSize])
            dHidden = Tensor(shape: [maxRows, ffnSize])
            dActivated = Tensor(shape: [maxRows, ffnSize])
        }
    }

    /// y = block(x) for `batch` sequences of the activations' seqLen. y must not alias x.
    /// Dropout masks come from `random` (its slice covers these sequences).
    public func forward(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
        keyPadding: UnsafePointer<Bool>?, _ a: Activations, _ params: ParameterStore,
        random: inout SequenceRandom, training: Bool
    ) {
        let rows = batch * a.seqLen, n = rows * modelSize
        let drop = training && dropout.isActive
        a.usedDropout = drop
        switch placement {
        case .pre:
            norm1.forward(x, a.normA.pointer, stats: a.stats1.pointer, rows: rows, params)
            attention.forward(
                a.normA.pointer, a.attnOut.pointer, batch: batch, keyPadding: keyPadding,
                a.attention, params, random: &random, training: training)
            if drop {
                draw(
                    a.attnOut.pointer, mask: a.mask1!.pointer, batch: batch, width: modelSize, seqLen: a.seqLen, &random
                )
            }
            VectorMath.add(x, a.attnOut.pointer, a.mid.pointer, count: n)
            norm2.forward(a.mid.pointer, a.normB.pointer, stats: a.stats2.pointer, rows: rows, params)
            feedForward(a.normB.pointer, a, batch: batch, drop: drop, params, random: &random)
            VectorMath.add(a.mid.pointer, a.ffnOut.pointer, y, count: n)
        case .post:
            attention.forward(
                x, a.attnOut.pointer, batch: batch, keyPadding: keyPadding,
                a.attention, params, random: &random, training: training)
            if drop {
                draw(
                    a.attnOut.pointer, mask: a.mask1!.pointer, batch: batch, width: modelSize, seqLen: a.seqLen, &random
                )
            }
            VectorMath.add(x, a.attnOut.pointer, a.mid.pointer, count: n)
            norm1.forward(a.mid.pointer, a.normB.pointer, stats: a.stats1.pointer, rows: rows, params)
            feedForward(a.normB.pointer, a, batch: batch, drop: drop, params, random: &random)
            VectorMath.add(a.normB.pointer, a.ffnOut.pointer, a.beforeNorm2.pointer, count: n)
            norm2.forward(a.beforeNorm2.pointer, y, stats: a.stats2.pointer, rows: rows, params)
        }
    }

    /// Applies this block's dropout to [batch·seqLen, width] values with the next draw of `random`.
    private func draw(
        _ x: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>, batch: Int, width: Int,
        seqLen: Int, _ random: inout SequenceRandom
    ) {
        var rng = random.nextDraw(valuesPerSequence: seqLen * width)
        dropout.forward(x, mask: mask, count: batch * seqLen * width, rng: &rng)
    }

    private func feedForward(
        _ input: UnsafePointer<Float>, _ a: Activations, batch: Int, drop: Bool,
        _ params: ParameterStore, random: inout SequenceRandom
    ) {
        let rows = batch * a.seqLen
        fc1.forward(input, a.hidden.pointer, rows: rows, params)
        GELU.forward(replacingWithDerivative: a.hidden.pointer, a.activated.pointer, count: rows * ffnSize)
        if drop {
            draw(
                a.activated.pointer, mask: a.maskHidden!.pointer, batch: batch, width: ffnSize, seqLen: a.seqLen,
                &random)
        }
        fc2.forward(a.activated.pointer, a.ffnOut.pointer, rows: rows, params)
        if drop {
            draw(a.ffnOut.pointer, mask: a.mask2!.pointer, batch: batch, width: modelSize, seqLen: a.seqLen, &random)
        }
    }

    /// Backward through the FFN: given d(ffnOut) in `dOut` (modified), accumulates
    /// d(input) into `dInput` (which already holds the residual gradient).
    private func feedForwardBackward(
        _ input: UnsafePointer<Float>, dOut: UnsafeMutablePointer<Float>,
        dInput: UnsafeMutablePointer<Float>, _ a: Activations, _ s: Scratch,
        rows: Int, _ params: ParameterStore
    ) {
        if a.usedDropout { dropout.backward(dOut, mask: a.mask2!.pointer, count: rows * modelSize) }
        fc2.backward(a.activated.pointer, dOut, s.dActivated.pointer, rows: rows, params)
        if a.usedDropout { dropout.backward(s.dActivated.pointer, mask: a.maskHidden!.pointer, count: rows * ffnSize) }
        GELU.backward(derivative: a.hidden.pointer, s.dActivated.pointer, s.dHidden.pointer, count: rows * ffnSize)
        fc1.backward(input, s.dHidden.pointer, dInput, rows: rows, params, accumulateInput: true)
    }

    /// Accumulates parameter gradients and writes dx = dL/dx (dx must not alias dy).
    public func backward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
        batch: Int, _ a: Activations, _ s: Scratch, _ params: ParameterStore
    ) {
        let rows = batch * a.seqLen, n = rows * modelSize
        let dMid = s.d1.pointer, dBranch = s.d2.pointer, dNorm = s.d3.pointer
        switch placement {
        case .pre:
            // y = mid + ffn(LN2(mid)); mid = x + attn(LN1(x)).
            dMid.update(from: dy, count: n)
            dBranch.update(from: dy, count: n)
            dNorm.update(repeating: 0, count: n)
            feedForwardBackward(a.normB.pointer, dOut: dBranch, dInput: dNorm, a, s, rows: rows, params)
            norm2.backward(
                a.mid.pointer, dNorm, dMid, stats: a.stats2.pointer, rows: rows, params,
                accumulateInput: true)
            dBranch.update(from: dMid, count: n)
            if a.usedDropout { dropout.backward(dBranch, mask: a.mask1!.pointer, count: n) }
            attention.backward(a.normA.pointer, dBranch, dNorm, batch: batch, a.attention, params)
            dx.update(from: dMid, count: n)
            norm1.backward(x, dNorm, dx, stats: a.stats1.pointer, rows: rows, params, accumulateInput: true)
        case .post:
            // y = LN2(x1 + ffn(x1)); x1 = LN1(x + attn(x)).
            norm2.backward(a.beforeNorm2.pointer, dy, dBranch, stats: a.stats2.pointer, rows: rows, params)
            dNorm.update(from: dBranch, count: n)  // residual path into x1
            feedForwardBackward(a.normB.pointer, dOut: dBranch, dInput: dNorm, a, s, rows: rows, params)
            norm1.backward(a.mid.pointer, dNorm, dMid, stats: a.stats1.pointer, rows: rows, params)
            dx.update(from: dMid, count: n)
            if a.usedDropout { dropout.backward(dMid, mask: a.mask1!.pointer, count: n) }
            attention.backward(x, dMid, dx, batch: batch, a.attention, params, accumulateInput: true)
        }
    }
}
