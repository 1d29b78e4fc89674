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
    /// s: the sinusoidal table's factor (its rows have RMS 1/√2 at 1), or the learned table's
    /// (PE = s·θ: it starts s times larger and, under Adam, moves s times as fast).
    public var positionScale: Float = 1
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

    public init(
        inputSize: Int, modelSize: Int = 256, layers: Int = 4, heads: Int = 8, headSize: Int? = nil,
        ffnSize: Int = 1024, maxPositions: Int = 64, positional: PositionalEncoding = .learned,
        placement: NormPlacement = .pre, dropout: Float = 0, attentionDropout: Float = 0,
        finalNorm: Bool = true, maskToken: Bool = false
    ) {
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
///
/// Every operation is per token or per sequence except the parameter gradients, so a batch
/// can be split by sequences over worker threads (`Activations(workers:)`): each worker runs
/// the whole stack on its share with single-threaded BLAS calls and its own gradient buffer,
/// and the buffers are summed after backward. Dropout masks are addressed by sequence
/// (`SequenceRandom`), so results do not depend on the number of workers beyond the order of
/// floating-point sums.
public struct TransformerEncoder: Sendable {
    public let config: EncoderConfig
    public let projection: Linear
    public let positional: PositionalEmbedding
    public let blocks: [TransformerBlock]
    public let finalNorm: LayerNorm?
    public let inputDropout: Dropout
    public let maskToken: Parameter?
    /// Where this encoder's parameters lie in the flat buffer (workers' gradients are summed there).
    public let parameterRange: Range<Int>

    public init(_ name: String, config c: EncoderConfig, layout: inout ParameterLayout) {
        let start = layout.count
        config = c
        projection = Linear("\(name).proj", inputSize: c.inputSize, outputSize: c.modelSize, layout: &layout)
        positional = PositionalEmbedding(
            "\(name).pos", kind: c.positional, maxPositions: c.maxPositions,
            size: c.modelSize, scale: c.positionScale, layout: &layout)
        blocks = (0..<c.layers).map {
            TransformerBlock(
                "\(name).blocks.\($0)", modelSize: c.modelSize, heads: c.heads, headSize: c.headSize,
                ffnSize: c.ffnSize, placement: c.placement, dropout: c.dropout,
                attentionDropout: c.attentionDropout, layout: &layout)
        }
        finalNorm = c.finalNorm ? LayerNorm("\(name).norm", size: c.modelSize, layout: &layout) : nil
        inputDropout = Dropout(probability: c.dropout)
        maskToken =
            c.maskToken
            ? layout.add(
                "\(name).mask_token", shape: [c.modelSize], initializer: .normal(std: 0.02),
                decays: false) : nil
        parameterRange = start..<layout.count
    }

    /// The buffers one worker needs for its share of a pass.
    final class Part: @unchecked Sendable {
        let maxBatch: Int
        /// layerInputs[0] = embedded input; layerInputs[l] = output of block l−1.
        let layerInputs: [Tensor]
        let blocks: [TransformerBlock.Activations]
        let scratch: TransformerBlock.Scratch
        let finalStats: Tensor
        let inputMask: Tensor?
        let dA: Tensor, dB: Tensor
        /// This part's sequences of the current pass.
        var sequences: Range<Int> = 0..<0

        init(_ encoder: TransformerEncoder, maxBatch: Int, seqLen: Int) {
            self.maxBatch = maxBatch
            let rows = maxBatch * seqLen, d = encoder.config.modelSize
            layerInputs = (0...encoder.blocks.count).map { _ in Tensor(shape: [rows, d]) }
            blocks = encoder.blocks.map { TransformerBlock.Activations($0, maxBatch: maxBatch, seqLen: seqLen) }
            scratch = TransformerBlock.Scratch(maxRows: rows, modelSize: d, ffnSize: encoder.config.ffnSize)
            finalStats = Tensor(shape: [rows, 2])
            inputMask = encoder.inputDropout.isActive ? Tensor(shape: [rows, d]) : nil
            dA = Tensor(shape: [rows, d])
            dB = Tensor(shape: [rows, d])
        }
    }

    /// Everything one pass keeps for its backward pass, allocated once and reused each step.
    public final class Activations: @unchecked Sendable {
        public let maxBatch: Int, seqLen: Int
        /// Worker threads a pass is split over (1: the calling thread, BLAS threads as set).
        public let workers: Int
        let parts: [Part]
        /// The encoder output [batch·seqLen, d] of the last forward.
        public let output: Tensor
        var batch = 0
        var usedInputDropout = false
        var tokenMask: [Bool] = []
        /// Gradient buffers of workers 1..<workers (worker 0 writes to the caller's store),
        /// for the store they were made for.
        private var workerStores: [ParameterStore] = []

        /// With `workers` > 1, BLAS should run one thread per call (`BLAS.threads = 1`): the
        /// workers provide the parallelism.
        public init(_ encoder: TransformerEncoder, maxBatch: Int, seqLen: Int, workers: Int = 1) {
            precondition(workers >= 1, "encoder workers must be ≥ 1")
            self.maxBatch = maxBatch
            self.seqLen = seqLen
            self.workers = min(workers, maxBatch)
            let share = (maxBatch + self.workers - 1) / self.workers
            parts = (0..<self.workers).map { _ in Part(encoder, maxBatch: share, seqLen: seqLen) }
            output = Tensor(shape: [maxBatch * seqLen, encoder.config.modelSize])
        }

        /// The store worker `index` accumulates gradients into.
        func store(_ index: Int, _ params: ParameterStore) -> ParameterStore {
            if index == 0 { return params }
            if workerStores.first.map({ $0.values !== params.values }) ?? true {
                workerStores = (1..<workers).map { _ in ParameterStore(sharingValuesOf: params) }
            }
            return workerStores[index - 1]
        }

        /// Splits `batch` sequences over the parts; returns how many parts have work.
        func assign(batch: Int) -> Int {
            let active = min(workers, batch)
            for (p, part) in parts.enumerated() {
                part.sequences = p < active ? Parallel.share(p, of: active, total: batch) : 0..<0
            }
            return active
        }

        /// Sums the workers' gradients over `range` into `params` (and zeroes theirs).
        func reduceGradients(into params: ParameterStore, range: Range<Int>) {
            guard workers > 1, !range.isEmpty else { return }
            let stores = (1..<workers).map { store($0, params) }
            Parallel.forEach(workers) { w in
                let slice = Parallel.share(w, of: workers, total: range.count)
                let sub = (range.lowerBound + slice.lowerBound)..<(range.lowerBound + slice.upperBound)
                for s in stores { params.accumulateGradients(from: s, range: sub) }
            }
        }
    }

    /// Encodes `batch` sequences: features [batch·seqLen, F], positions [batch·seqLen].
    /// `tokenMask` (needs `config.maskToken`) replaces the projected input of the rows where it
    /// is true with the mask token. Returns the output [batch·seqLen, d] (valid until the next
    /// forward on `a`).
    @discardableResult
    public func forward(
        _ features: UnsafePointer<Float>, positions: UnsafePointer<Int32>, batch: Int,
        keyPadding: UnsafePointer<Bool>? = nil, tokenMask: UnsafePointer<Bool>? = nil,
        _ a: Activations, _ params: ParameterStore,
        rng: inout Philox, training: Bool
    ) -> UnsafeMutablePointer<Float> {
        forward(
            .features(features), positions: positions, batch: batch, keyPadding: keyPadding, tokenMask: tokenMask,
            a, params, rng: &rng, training: training)
    }

    /// Like `forward(_:positions:…)`, but from rows already projected by `projection`
    /// ([batch·seqLen, d], bias included): passes whose frames are permutations or copies of
    /// another pass's frames project them once (see `backward(dEmbedded:)`).
    @discardableResult
    public func forward(
        embedded: UnsafePointer<Float>, positions: UnsafePointer<Int32>, batch: Int,
        keyPadding: UnsafePointer<Bool>? = nil, tokenMask: UnsafePointer<Bool>? = nil,
        _ a: Activations, _ params: ParameterStore,
        rng: inout Philox, training: Bool
    ) -> UnsafeMutablePointer<Float> {
        forward(
            .embedded(embedded), positions: positions, batch: batch, keyPadding: keyPadding, tokenMask: tokenMask,
            a, params, rng: &rng, training: training)
    }

    enum Input { case features(UnsafePointer<Float>), embedded(UnsafePointer<Float>) }

    private func forward(
        _ input: Input, positions: UnsafePointer<Int32>, batch: Int,
        keyPadding: UnsafePointer<Bool>?, tokenMask: UnsafePointer<Bool>?,
        _ a: Activations, _ params: ParameterStore,
        rng: inout Philox, training: Bool
    ) -> UnsafeMutablePointer<Float> {
        precondition(batch <= a.maxBatch, "encoder batch \(batch) exceeds capacity \(a.maxBatch)")
        precondition(tokenMask == nil || maskToken != nil, "tokenMask needs an encoder built with maskToken")
        a.batch = batch
        let t = a.seqLen, d = config.modelSize, f = config.inputSize
        a.tokenMask = tokenMask.map { Array(UnsafeBufferPointer(start: $0, count: batch * t)) } ?? []
        a.usedInputDropout = training && inputDropout.isActive
        let random =
            training ? SequenceRandom(&rng, sequences: batch) : SequenceRandom(seed: 0, stream: 0, sequences: batch)
        let active = a.assign(batch: batch)
        Parallel.forEach(active) { p in
            let part = a.parts[p], first = part.sequences.lowerBound, rows = part.sequences.count * t
            let row0 = first * t
            let x0 = part.layerInputs[0].pointer
            switch input {
            case .features(let features): projection.forward(features + row0 * f, x0, rows: rows, params)
            case .embedded(let embedded): x0.update(from: embedded + row0 * d, count: rows * d)
            }
            if let token = maskToken, !a.tokenMask.isEmpty {
                let value = params.value(token)
                for r in 0..<rows where a.tokenMask[row0 + r] { (x0 + r * d).update(from: value, count: d) }
            }
            positional.forward(x0, positions: positions + row0, rows: rows, params)
            var slice = random.slice(first: first, count: part.sequences.count)
            if a.usedInputDropout {
                var g = slice.nextDraw(valuesPerSequence: t * d)
                inputDropout.forward(x0, mask: part.inputMask!.pointer, count: rows * d, rng: &g)
            }
            for (l, block) in blocks.enumerated() {
                block.forward(
                    part.layerInputs[l].pointer, part.layerInputs[l + 1].pointer, batch: part.sequences.count,
                    keyPadding: keyPadding.map { $0 + row0 }, part.blocks[l], params,
                    random: &slice, training: training)
            }
            let out = a.output.pointer + row0 * d
            if let finalNorm {
                finalNorm.forward(
                    part.layerInputs[blocks.count].pointer, out, stats: part.finalStats.pointer,
                    rows: rows, params)
            } else {
                out.update(from: part.layerInputs[blocks.count].pointer, count: rows * d)
            }
        }
        return a.output.pointer
    }

    /// Accumulates all parameter gradients given dL/d(output). Features are usually data, so
    /// the feature gradient is formed only when `dFeatures` is given.
    public func backward(
        _ features: UnsafePointer<Float>, positions: UnsafePointer<Int32>,
        dOutput: UnsafePointer<Float>, _ a: Activations, _ params: ParameterStore,
        dFeatures: UnsafeMutablePointer<Float>? = nil
    ) {
        backward(.features(features, dFeatures), positions: positions, dOutput: dOutput, a, params)
    }

    /// Backward of `forward(embedded:)`: accumulates the gradients of every parameter but the
    /// projection's, and writes dL/d(embedded) [batch·seqLen, d] (zero on mask-token rows) for
    /// the caller to take through `projection.backward` once for all passes sharing it.
    public func backward(
        dEmbedded: UnsafeMutablePointer<Float>, positions: UnsafePointer<Int32>,
        dOutput: UnsafePointer<Float>, _ a: Activations, _ params: ParameterStore
    ) {
        backward(.embedded(dEmbedded), positions: positions, dOutput: dOutput, a, params)
    }

    enum Gradient {
        case features(UnsafePointer<Float>, UnsafeMutablePointer<Float>?), embedded(UnsafeMutablePointer<Float>)
    }

    private func backward(
        _ target: Gradient, positions: UnsafePointer<Int32>, dOutput: UnsafePointer<Float>,
        _ a: Activations, _ params: ParameterStore
    ) {
        let t = a.seqLen, d = config.modelSize, f = config.inputSize
        let active = a.assign(batch: a.batch)
        let stores = (0..<active).map { a.store($0, params) }
        Parallel.forEach(active) { p in
            let part = a.parts[p], rows = part.sequences.count * t, row0 = part.sequences.lowerBound * t
            let store = stores[p]
            var dy = part.dA.pointer, dx = part.dB.pointer
            if let finalNorm {
                finalNorm.backward(
                    part.layerInputs[blocks.count].pointer, dOutput + row0 * d, dy,
                    stats: part.finalStats.pointer, rows: rows, store)
            } else {
                dy.update(from: dOutput + row0 * d, count: rows * d)
            }
            for l in stride(from: blocks.count - 1, through: 0, by: -1) {
                blocks[l].backward(
                    part.layerInputs[l].pointer, dy, dx, batch: part.sequences.count, part.blocks[l],
                    part.scratch, store)
                swap(&dy, &dx)
            }
            if a.usedInputDropout { inputDropout.backward(dy, mask: part.inputMask!.pointer, count: rows * d) }
            positional.backward(dy, positions: positions + row0, rows: rows, store)
            if let token = maskToken, !a.tokenMask.isEmpty {
                // Masked rows took the token, not the projection: their gradient goes to the token.
                let g = store.gradient(token)
                for r in 0..<rows where a.tokenMask[row0 + r] {
                    VectorMath.add(dy + r * d, into: g, count: d)
                    (dy + r * d).update(repeating: 0, count: d)
                }
            }
            switch target {
            case .features(let features, let dFeatures):
                projection.backward(features + row0 * f, dy, dFeatures.map { $0 + row0 * f }, rows: rows, store)
            case .embedded(let dEmbedded):
                (dEmbedded + row0 * d).update(from: dy, count: rows * d)
            }
        }
        a.reduceGradients(into: params, range: parameterRange)
    }
}
