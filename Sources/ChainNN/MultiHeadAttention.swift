import ChainNumerics

/// Multi-head self-attention: a packed QKV projection (d → 3·heads·headSize), scaled
/// dot-product attention per head with an optional key-padding mask and attention-probability
/// dropout, and an output projection (heads·headSize → d).
///
/// The head width is independent of the model width, so shapes such as ConMH's
/// (d = 256, 6 heads of width 42) can be expressed.
public struct MultiHeadAttention: Sendable {
    public let modelSize: Int
    public let core: ScaledDotProductAttention
    public let inProjection: Linear
    public let outProjection: Linear
    public let dropout: Dropout

    public init(
        _ name: String, modelSize: Int, heads: Int, headSize: Int, dropout: Float = 0,
        layout: inout ParameterLayout
    ) {
        self.modelSize = modelSize
        core = ScaledDotProductAttention(heads: heads, headSize: headSize)
        let inner = heads * headSize
        inProjection = Linear(
            "\(name).in_proj", inputSize: modelSize, outputSize: 3 * inner,
            weightInit: .xavier(fanIn: modelSize, fanOut: inner), layout: &layout)
        outProjection = Linear("\(name).out_proj", inputSize: inner, outputSize: modelSize, layout: &layout)
        self.dropout = Dropout(probability: dropout)
    }

    /// Saved activations and backward scratch for one pass, sized for a maximum batch.
    public final class Activations: @unchecked Sendable {
        public let maxBatch: Int, seqLen: Int
        let qkv: Tensor, probs: Tensor, dropMask: Tensor?, context: Tensor
        let dQKV: Tensor, dContext: Tensor, scratch: Tensor
        var usedMask = false

        /// Softmax attention probabilities [batch, heads, seqLen, seqLen] of the last forward.
        public var probabilities: Tensor { probs }

        public init(_ layer: MultiHeadAttention, maxBatch: Int, seqLen: Int) {
            self.maxBatch = maxBatch
            self.seqLen = seqLen
            let rows = maxBatch * seqLen, inner = layer.core.innerSize
            let probCount = maxBatch * layer.core.heads * seqLen * seqLen
            qkv = Tensor(shape: [rows, 3 * inner])
            probs = Tensor(shape: [probCount])
            dropMask = layer.dropout.isActive ? Tensor(shape: [probCount]) : nil
            context = Tensor(shape: [rows, inner])
            dQKV = Tensor(shape: [rows, 3 * inner])
            dContext = Tensor(shape: [rows, inner])
            scratch = Tensor(shape: [layer.core.scratchCount(seqLen: seqLen)])
        }
    }

    /// y[batch·seqLen, d] = attention(x). `training` enables dropout (drawn from `random`,
    /// whose slice covers these `batch` sequences).
    public func forward(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int,
        keyPadding: UnsafePointer<Bool>?, _ a: Activations, _ params: ParameterStore,
        random: inout SequenceRandom, training: Bool
    ) {
        precondition(batch <= a.maxBatch, "attention batch \(batch) exceeds capacity \(a.maxBatch)")
        let rows = batch * a.seqLen
        inProjection.forward(x, a.qkv.pointer, rows: rows, params)
        var mask: UnsafePointer<Float>? = nil
        if training, dropout.isActive, let m = a.dropMask {
            let perSequence = core.heads * a.seqLen * a.seqLen
            var rng = random.nextDraw(valuesPerSequence: perSequence)
            dropout.drawMask(m.pointer, count: batch * perSequence, rng: &rng)
            mask = UnsafePointer(m.pointer)
        }
        a.usedMask = mask != nil
        core.forward(
            qkv: a.qkv.pointer, probs: a.probs.pointer, dropMask: mask, keyPadding: keyPadding,
            context: a.context.pointer, scratch: a.scratch.pointer, batch: batch, seqLen: a.seqLen)
        outProjection.forward(a.context.pointer, y, rows: rows, params)
    }

    /// Accumulates parameter gradients; dx = (or += when `accumulateInput`) dL/dx.
    public func backward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
        _ dx: UnsafeMutablePointer<Float>, batch: Int, _ a: Activations,
        _ params: ParameterStore, accumulateInput: Bool = false
    ) {
        let rows = batch * a.seqLen
        outProjection.backward(a.context.pointer, dy, a.dContext.pointer, rows: rows, params)
        core.backward(
            qkv: a.qkv.pointer, probs: a.probs.pointer,
            dropMask: a.usedMask ? UnsafePointer(a.dropMask!.pointer) : nil,
            dContext: a.dContext.pointer, dQKV: a.dQKV.pointer, scratch: a.scratch.pointer,
            batch: batch, seqLen: a.seqLen)
        // The key bias adds q·b_k to a whole row of scores, which softmax ignores: its exact
        // gradient Σ_rows dK is zero (each softmax-backward row sums to zero). Keep that slice of
        // the bias gradient unchanged instead of accumulating rounding noise into it, which
        // Adam would scale up to learning-rate-sized steps. Weight and input gradients through
        // K are not zero and are untouched.
        let inner = core.innerSize
        let keyBiasGradient = params.gradient(inProjection.bias!) + inner
        // (A plain array: with `withUnsafeTemporaryAllocation`, widths over 256 — whose buffer
        // no longer fits its 1 KiB stack path — crashed here in release builds, reading `rows`
        // as garbage; ResumeTests.testStopSignalsDuringACheckpointWrite trains width 512.)
        let saved = Array(UnsafeBufferPointer(start: keyBiasGradient, count: inner))
        inProjection.backward(x, a.dQKV.pointer, dx, rows: rows, params, accumulateInput: accumulateInput)
        keyBiasGradient.update(from: saved, count: inner)
    }
}
