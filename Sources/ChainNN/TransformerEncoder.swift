import ChainNumerics

/// Shape and regularisation of a `TransformerEncoder`.
public struct EncoderConfig: Sendable, Equatable, Codable {
    /// Per-frame input feature size F.
    public var inputSize: Int
    /// Model width d.
    public var modelSize: Int
    public var layers: Int
    public var heads: Int
    /// Width of one attention head (heads·headSize need not equal d).
    public var headSize: Int
    public var ffnSize: Int
    /// Largest position index + 1.
    public var maxPositions: Int
    public var positional: PositionalEncoding
    public var placement: NormPlacement
    /// Dropout after the positional embedding and in every block (residual branches, FFN).
    public var dropout: Float
    /// Dropout on the attention probabilities.
    public var attentionDropout: Float
    /// A LayerNorm after the last block (pre-LN stacks need it).
    public var finalNorm: Bool
    /// A learned token that replaces the projected input of masked rows (MAE-style decoders,
    /// masked-frame augmentation). Rows are masked per call (`forward(tokenMask:)`).
    public var maskToken: Bool = false

    public init(inputSize: Int, modelSize: Int = 256, layers: Int = 4, heads: Int = 8, headSize: Int? = nil,
                ffnSize: Int = 1024, maxPositions: Int = 64, positional: PositionalEncoding = .learned,
                placement: NormPlacement = .pre, dropout: Float = 0, attentionDropout: Float = 0,
                finalNorm: Bool = true, maskToken: Bool = false) {
        self.inputSize = inputSize
        self.modelSize = modelSize
        self.layers = layers
        self.heads = heads
        self.headSize = headSize ?? modelSize / heads
        self.ffnSize = ffnSize
        self.maxPositions = maxPositions
        self.positional = positional
        self.placement = placement
        self.dropout = dropout
        self.attentionDropout = attentionDropout
        self.finalNorm = finalNorm
        self.maskToken = maskToken
    }
}

/// A frame-sequence encoder: Linear(F → d) projection, positional embedding at an explicit
/// per-token position, dropout, a stack of transformer blocks and an optional final LayerNorm.
public struct TransformerEncoder: Sendable {
    public let config: EncoderConfig
    public let projection: Linear
    public let positional: PositionalEmbedding
    public let blocks: [TransformerBlock]
    public let finalNorm: LayerNorm?
    public let inputDropout: Dropout
    public let maskToken: Parameter?

    public init(_ name: String, config c: EncoderConfig, layout: inout ParameterLayout) {
        config = c
        projection = Linear("\(name).proj", inputSize: c.inputSize, outputSize: c.modelSize, layout: &layout)
        positional = PositionalEmbedding("\(name).pos", kind: c.positional, maxPositions: c.maxPositions,
                                         size: c.modelSize, layout: &layout)
        blocks = (0..<c.layers).map {
            TransformerBlock("\(name).blocks.\($0)", modelSize: c.modelSize, heads: c.heads, headSize: c.headSize,
                             ffnSize: c.ffnSize, placement: c.placement, dropout: c.dropout,
                             attentionDropout: c.attentionDropout, layout: &layout)
        }
        finalNorm = c.finalNorm ? LayerNorm("\(name).norm", size: c.modelSize, layout: &layout) : nil
        inputDropout = Dropout(probability: c.dropout)
        maskToken = c.maskToken ? layout.add("\(name).mask_token", shape: [c.modelSize], initializer: .normal(std: 0.02),
                                             decays: false) : nil
    }

    /// Everything one pass keeps for its backward pass, allocated once and reused each step.
    public final class Activations: @unchecked Sendable {
        public let maxBatch: Int, seqLen: Int
        /// layerInputs[0] = embedded input; layerInputs[l] = output of block l−1.
        let layerInputs: [Tensor]
        let blocks: [TransformerBlock.Activations]
        let scratch: TransformerBlock.Scratch
        let finalStats: Tensor
        let inputMask: Tensor?
        /// The encoder output [batch·seqLen, d] of the last forward.
        public let output: Tensor
        let dA: Tensor, dB: Tensor
        var batch = 0
        var usedInputDropout = false
        var tokenMask: [Bool] = []

        public init(_ encoder: TransformerEncoder, maxBatch: Int, seqLen: Int) {
            self.maxBatch = maxBatch
            self.seqLen = seqLen
            let rows = maxBatch * seqLen, d = encoder.config.modelSize
            layerInputs = (0...encoder.blocks.count).map { _ in Tensor(shape: [rows, d]) }
            blocks = encoder.blocks.map { TransformerBlock.Activations($0, maxBatch: maxBatch, seqLen: seqLen) }
            scratch = TransformerBlock.Scratch(maxRows: rows, modelSize: d, ffnSize: encoder.config.ffnSize)
            finalStats = Tensor(shape: [rows, 2])
            inputMask = encoder.inputDropout.isActive ? Tensor(shape: [rows, d]) : nil
            output = encoder.finalNorm == nil ? layerInputs[encoder.blocks.count] : Tensor(shape: [rows, d])
            dA = Tensor(shape: [rows, d])
            dB = Tensor(shape: [rows, d])
        }
    }

    /// Encodes `batch` sequences: features [batch·seqLen, F], positions [batch·seqLen].
    /// `tokenMask` (needs `config.maskToken`) replaces the projected input of the rows where it
    /// is true with the mask token. Returns the output [batch·seqLen, d] (valid until the next
    /// forward on `a`).
    @discardableResult
    public func forward(_ features: UnsafePointer<Float>, positions: UnsafePointer<Int32>, batch: Int,
                        keyPadding: UnsafePointer<Bool>? = nil, tokenMask: UnsafePointer<Bool>? = nil,
                        _ a: Activations, _ params: ParameterStore,
                        rng: inout Philox, training: Bool) -> UnsafeMutablePointer<Float> {
        precondition(batch <= a.maxBatch, "encoder batch \(batch) exceeds capacity \(a.maxBatch)")
        precondition(tokenMask == nil || maskToken != nil, "tokenMask needs an encoder built with maskToken")
        a.batch = batch
        let rows = batch * a.seqLen, d = config.modelSize
        let x0 = a.layerInputs[0].pointer
        projection.forward(features, x0, rows: rows, params)
        a.tokenMask = tokenMask.map { Array(UnsafeBufferPointer(start: $0, count: rows)) } ?? []
        if let token = maskToken, !a.tokenMask.isEmpty {
            let t = params.value(token)
            for r in 0..<rows where a.tokenMask[r] { (x0 + r * d).update(from: t, count: d) }
        }
        positional.forward(x0, positions: positions, rows: rows, params)
        a.usedInputDropout = training && inputDropout.isActive
        if a.usedInputDropout { inputDropout.forward(x0, mask: a.inputMask!.pointer, count: rows * d, rng: &rng) }
        for (l, block) in blocks.enumerated() {
            block.forward(a.layerInputs[l].pointer, a.layerInputs[l + 1].pointer, batch: batch,
                          keyPadding: keyPadding, a.blocks[l], params, rng: &rng, training: training)
        }
        if let finalNorm {
            finalNorm.forward(a.layerInputs[blocks.count].pointer, a.output.pointer, stats: a.finalStats.pointer,
                              rows: rows, params)
        }
        return a.output.pointer
    }

    /// Accumulates all parameter gradients given dL/d(output). Features are usually data, so
    /// the feature gradient is formed only when `dFeatures` is given.
    public func backward(_ features: UnsafePointer<Float>, positions: UnsafePointer<Int32>,
                         dOutput: UnsafePointer<Float>, _ a: Activations, _ params: ParameterStore,
                         dFeatures: UnsafeMutablePointer<Float>? = nil) {
        let rows = a.batch * a.seqLen, n = rows * config.modelSize
        var dy = a.dA.pointer, dx = a.dB.pointer
        if let finalNorm {
            finalNorm.backward(a.layerInputs[blocks.count].pointer, dOutput, dy, stats: a.finalStats.pointer,
                               rows: rows, params)
        } else {
            dy.update(from: dOutput, count: n)
        }
        for l in stride(from: blocks.count - 1, through: 0, by: -1) {
            blocks[l].backward(a.layerInputs[l].pointer, dy, dx, batch: a.batch, a.blocks[l], a.scratch, params)
            swap(&dy, &dx)
        }
        if a.usedInputDropout { inputDropout.backward(dy, mask: a.inputMask!.pointer, count: n) }
        positional.backward(dy, positions: positions, rows: rows, params)
        if let token = maskToken, !a.tokenMask.isEmpty {
            // Masked rows took the token, not the projection: their gradient goes to the token.
            let g = params.gradient(token), d = config.modelSize
            for r in 0..<rows where a.tokenMask[r] {
                VectorMath.add(dy + r * d, into: g, count: d)
                (dy + r * d).update(repeating: 0, count: d)
            }
        }
        projection.backward(features, dy, dFeatures, rows: rows, params)
    }
}
