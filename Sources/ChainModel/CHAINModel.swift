import ChainNN
import ChainNumerics

/// The CHAIN network: a transformer frame encoder, a frame-level hash layer on every token,
/// and a frame-order head, with all parameters in one flat `ParameterStore`.
///
/// A video's code in training is the mean of its frame codes; at inference it is
/// sign(mean of the frame codes over all T frames), with sign(0) = +1.
public struct CHAINModel: Sendable {
    public let config: CHAINConfig
    public let encoder: TransformerEncoder
    public let hash: HashLayer
    public let orderHead: Linear
    /// ConMH mode, or chain mode with reconstruction: the MAE decoder (Linear(bits → width) on
    /// frame codes, mask tokens, blocks of that width) and the reconstruction head Linear(width → F).
    public let decoder: TransformerEncoder?
    public let reconstruction: Linear?
    public let store: ParameterStore

    public init(config: CHAINConfig, seed: UInt64) {
        self.config = config
        var layout = ParameterLayout()
        encoder = TransformerEncoder("encoder", config: config.encoder, layout: &layout)
        hash = HashLayer(
            "hash", inputSize: config.encoder.modelSize, bits: config.bits,
            shortcutInputSize: config.inputShortcut.isPresent ? config.encoder.inputSize : nil,
            trainsShortcut: config.inputShortcut == .pca, layout: &layout)
        orderHead = Linear(
            "order_head", inputSize: config.encoder.modelSize, outputSize: config.encoder.maxPositions,
            layout: &layout)
        if config.hasDecoder {
            let w = config.conmh.decoderWidth
            decoder = TransformerEncoder(
                "decoder",
                config: EncoderConfig(
                    inputSize: config.bits, modelSize: w, layers: config.conmh.decoderLayers,
                    heads: config.conmh.decoderHeads,
                    ffnSize: 4 * w, maxPositions: config.encoder.maxPositions, positional: .learned, placement: .pre,
                    dropout: 0, finalNorm: true, maskToken: true), layout: &layout)
            reconstruction = Linear(
                "reconstruction", inputSize: w, outputSize: config.encoder.inputSize, layout: &layout)
        } else {
            decoder = nil
            reconstruction = nil
        }
        store = ParameterStore(layout: layout)
        store.initialize(Philox(seed: seed).split("init"))
    }

    /// Buffers for encoding batches of up to `maxBatch` videos of `frames` frames.
    ///
    /// With `views` = k > 1 a video is encoded as k interleaved sequences (frames j, j+k,
    /// j+2k, … for j < k, ⌊T/k⌋ frames each, at the positions `config.positionIndex` gives
    /// them, as in training), closer to the L-frame views training sees than one sequence of
    /// all T frames; the code is the sign of the mean of all their frame codes.
    public final class Encoding: @unchecked Sendable {
        let encoder: TransformerEncoder.Activations
        let hash: HashLayer.Activations
        let frameCodes: Tensor
        let positions: [Int32]
        public let frames: Int, views: Int
        /// What is averaged over the frames before the final sign.
        public let pooling: CodePooling
        /// Frames per encoded sequence (T, or ⌊T/views⌋).
        var sequenceLength: Int { frames / views }
        let gathered: Tensor

        public init(
            _ model: CHAINModel, maxBatch: Int, frames: Int, workers: Int = 1, views: Int = 1,
            pooling: CodePooling = .codes
        ) {
            precondition(views >= 1 && views <= frames, "encoding views \(views) must be in 1...\(frames)")
            self.frames = frames
            self.views = views
            self.pooling = pooling
            let length = frames / views
            encoder = TransformerEncoder.Activations(
                model.encoder, maxBatch: maxBatch, seqLen: length, workers: workers)
            hash = HashLayer.Activations(model.hash, maxRows: maxBatch * length)
            frameCodes = Tensor(shape: [maxBatch * length, model.config.bits])
            positions = (0..<(maxBatch * length)).map { Int32($0 % length) }
            gathered = Tensor(shape: [views > 1 ? maxBatch * length : 0, model.config.encoder.inputSize])
        }
    }

    /// Binary codes (±1) of `batch` un-augmented videos: features [batch·frames, F].
    /// Writes codes [batch, bits]: the sign of the sum over frames of the frame codes, or of
    /// the frames' h with `CodePooling.activations`; and, when given, `values` [batch, bits]:
    /// the real-valued codes, that sum divided by the number of frames read (what an exported
    /// model's `code` output holds).
    public func encode(
        _ features: UnsafePointer<Float>, batch: Int, _ e: Encoding,
        codes: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>? = nil
    ) {
        let length = e.sequenceLength, bits = config.bits, f = config.encoder.inputSize
        var rng = Philox(seed: 0)  // inference draws nothing
        var sums = [Float](repeating: 0, count: batch * bits)
        var positions = e.positions  // rewritten per view when views > 1
        for view in 0..<e.views {
            var input = features
            if e.views > 1 {
                for v in 0..<batch {
                    for i in 0..<length {
                        let frame = view + i * e.views
                        (e.gathered.pointer + (v * length + i) * f).update(
                            from: features + (v * e.frames + frame) * f, count: f)
                        positions[v * length + i] = Int32(frame)
                    }
                }
                positions.withUnsafeMutableBufferPointer { p in
                    for v in 0..<batch {
                        let row = p.baseAddress! + v * length
                        config.positionIndex.positions(of: row, count: length, videoFrames: e.frames, into: row)
                    }
                }
                input = UnsafePointer(e.gathered.pointer)
            }
            let hidden = positions.withUnsafeBufferPointer {
                encoder.forward(
                    input, positions: $0.baseAddress!, batch: batch, e.encoder, store, rng: &rng, training: false)
            }
            hash.forward(
                hidden, e.frameCodes.pointer, rows: batch * length, e.hash, store, activation: .sign,
                input: hash.shortcut == nil ? nil : input)
            let pooled = e.pooling == .codes ? e.frameCodes.pointer : e.hash.normalized.pointer
            sums.withUnsafeMutableBufferPointer { total in
                for v in 0..<batch {
                    for i in 0..<length {
                        VectorMath.add(
                            pooled + (v * length + i) * bits, into: total.baseAddress! + v * bits,
                            count: bits)
                    }
                }
            }
        }
        for i in 0..<(batch * bits) { codes[i] = sums[i] < 0 ? -1 : 1 }
        if let values {
            let frames = Float(e.views * length)
            for i in 0..<(batch * bits) { values[i] = sums[i] / frames }
        }
    }
}
