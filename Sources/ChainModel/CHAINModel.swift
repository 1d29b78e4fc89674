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
    /// ConMH mode, or chain mode with reconstruction: the MAE decoder (Linear(bits → width) on frame codes, mask tokens,
    /// blocks of that width) and the reconstruction head Linear(width → F).
    public let decoder: TransformerEncoder?
    public let reconstruction: Linear?
    public let store: ParameterStore

    public init(config: CHAINConfig, seed: UInt64) {
        self.config = config
        var layout = ParameterLayout()
        encoder = TransformerEncoder("encoder", config: config.encoder, layout: &layout)
        hash = HashLayer("hash", inputSize: config.encoder.modelSize, bits: config.bits, layout: &layout)
        orderHead = Linear("order_head", inputSize: config.encoder.modelSize, outputSize: config.encoder.maxPositions,
                           layout: &layout)
        if config.hasDecoder {
            let w = config.conmh.decoderWidth
            decoder = TransformerEncoder("decoder", config: EncoderConfig(
                inputSize: config.bits, modelSize: w, layers: config.conmh.decoderLayers, heads: config.conmh.decoderHeads,
                ffnSize: 4 * w, maxPositions: config.encoder.maxPositions, positional: .learned, placement: .pre,
                dropout: 0, finalNorm: true, maskToken: true), layout: &layout)
            reconstruction = Linear("reconstruction", inputSize: w, outputSize: config.encoder.inputSize, layout: &layout)
        } else {
            decoder = nil
            reconstruction = nil
        }
        store = ParameterStore(layout: layout)
        store.initialize(Philox(seed: seed).split("init"))
    }

    /// Buffers for encoding batches of up to `maxBatch` videos of `frames` frames.
    public final class Encoding: @unchecked Sendable {
        let encoder: TransformerEncoder.Activations
        let hash: HashLayer.Activations
        let frameCodes: Tensor
        let positions: [Int32]
        public init(_ model: CHAINModel, maxBatch: Int, frames: Int, workers: Int = 1) {
            encoder = TransformerEncoder.Activations(model.encoder, maxBatch: maxBatch, seqLen: frames, workers: workers)
            hash = HashLayer.Activations(model.hash, maxRows: maxBatch * frames)
            frameCodes = Tensor(shape: [maxBatch * frames, model.config.bits])
            positions = (0..<(maxBatch * frames)).map { Int32($0 % frames) }
        }
    }

    /// Binary codes (±1) of `batch` un-augmented videos: features [batch·frames, F].
    /// Writes codes [batch, bits].
    public func encode(_ features: UnsafePointer<Float>, batch: Int, _ e: Encoding,
                       codes: UnsafeMutablePointer<Float>) {
        let frames = e.encoder.seqLen, bits = config.bits
        var rng = Philox(seed: 0)   // inference draws nothing
        let hidden = e.positions.withUnsafeBufferPointer {
            encoder.forward(features, positions: $0.baseAddress!, batch: batch, e.encoder, store, rng: &rng, training: false)
        }
        hash.forward(hidden, e.frameCodes.pointer, rows: batch * frames, e.hash, store, activation: .sign)
        for v in 0..<batch {
            for b in 0..<bits {
                var sum: Float = 0
                for f in 0..<frames { sum += e.frameCodes.pointer[(v * frames + f) * bits + b] }
                codes[v * bits + b] = sum < 0 ? -1 : 1
            }
        }
    }
}
