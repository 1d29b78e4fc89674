import ChainNumerics
import ChainNN

/// A self-contained task that exercises the whole engine: recover the temporal position of
/// each frame of a shuffled clip.
///
/// Clip i has a random base vector bᵢ; its frame t is bᵢ + (t − (T−1)/2)·s·u + noise, with a
/// motion direction u shared by all clips. Frames are shuffled and the positional embedding
/// follows the *slot*, so the slot carries no information: a frame's position is only
/// recoverable by comparing it with the clip's other frames (through attention), which a
/// per-frame model cannot do. Chance level is ln T nats.
public struct FrameOrderToy: Sendable {
    public struct Config: Sendable, Equatable {
        public var frames = 8
        public var featureSize = 16
        public var modelSize = 64
        public var layers = 2
        public var heads = 4
        public var ffnSize = 256
        public var spacing: Float = 0.4
        public var noise: Float = 0.1
        public init() {}
    }

    public let config: Config
    public let encoder: TransformerEncoder
    public let head: Linear
    public let store: ParameterStore
    private let direction: [Float]
    private let dataSeed: UInt64

    public init(config: Config = Config(), seed: UInt64) {
        self.config = config
        var layout = ParameterLayout()
        encoder = TransformerEncoder(
            "encoder",
            config: EncoderConfig(
                inputSize: config.featureSize, modelSize: config.modelSize, layers: config.layers, heads: config.heads,
                ffnSize: config.ffnSize, maxPositions: config.frames), layout: &layout)
        head = Linear("order_head", inputSize: config.modelSize, outputSize: config.frames, layout: &layout)
        store = ParameterStore(layout: layout)
        store.initialize(Philox(seed: seed).split("init"))
        var g = Philox(seed: seed).split("direction")
        var u = (0..<config.featureSize).map { _ in g.nextGaussian() }
        let norm = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
        u = u.map { $0 / norm }
        direction = u
        dataSeed = seed
    }

    /// A batch of `clips` clips: features [clips·T, F], slot positions and targets [clips·T].
    public struct Batch {
        public var features: [Float]
        public var positions: [Int32]
        public var targets: [Int32]
        public var clips: Int
    }

    /// The `step`-th global batch (identical on every rank: each rank then takes its slice).
    public func batch(step: Int, clips: Int) -> Batch {
        let t = config.frames, f = config.featureSize
        var g = Philox(seed: dataSeed, stream: UInt64(step)).split("data")
        var features = [Float](repeating: 0, count: clips * t * f)
        var targets = [Int32](repeating: 0, count: clips * t)
        for c in 0..<clips {
            let base = (0..<f).map { _ in g.nextGaussian() }
            let order = g.permutation(t)
            for slot in 0..<t {
                let time = order[slot]
                let offset = (Float(time) - Float(t - 1) / 2) * config.spacing
                for k in 0..<f {
                    features[(c * t + slot) * f + k] = base[k] + offset * direction[k] + config.noise * g.nextGaussian()
                }
                targets[c * t + slot] = Int32(time)
            }
        }
        let positions = (0..<(clips * t)).map { Int32($0 % t) }
        return Batch(features: features, positions: positions, targets: targets, clips: clips)
    }

    /// Clips [first, first+count) of a batch.
    public func slice(_ b: Batch, first: Int, count: Int) -> Batch {
        let t = config.frames, f = config.featureSize
        return Batch(
            features: Array(b.features[(first * t * f)..<((first + count) * t * f)]),
            positions: Array(b.positions[(first * t)..<((first + count) * t)]),
            targets: Array(b.targets[(first * t)..<((first + count) * t)]), clips: count)
    }

    /// Reusable buffers for `lossAndGradient`.
    public final class Workspace: @unchecked Sendable {
        let encoder: TransformerEncoder.Activations
        let logits: Tensor, dLogits: Tensor, dHidden: Tensor
        public init(_ toy: FrameOrderToy, maxClips: Int) {
            let rows = maxClips * toy.config.frames
            encoder = TransformerEncoder.Activations(toy.encoder, maxBatch: maxClips, seqLen: toy.config.frames)
            logits = Tensor(shape: [rows, toy.config.frames])
            dLogits = Tensor(shape: [rows, toy.config.frames])
            dHidden = Tensor(shape: [rows, toy.config.modelSize])
        }
    }

    /// Forward and backward on one batch: accumulates gradients of the mean cross-entropy,
    /// scaled by `weight`, and returns the loss and the fraction of frames placed correctly.
    public func lossAndGradient(_ b: Batch, _ w: Workspace, weight: Float = 1) -> (loss: Double, accuracy: Double) {
        let rows = b.clips * config.frames
        var rng = Philox(seed: 0)  // no dropout in the toy: nothing is drawn
        return b.features.withUnsafeBufferPointer { x in
            b.positions.withUnsafeBufferPointer { pos in
                b.targets.withUnsafeBufferPointer { y in
                    let h = encoder.forward(
                        x.baseAddress!, positions: pos.baseAddress!, batch: b.clips, w.encoder,
                        store, rng: &rng, training: true)
                    head.forward(h, w.logits.pointer, rows: rows, store)
                    let (loss, correct) = SoftmaxCrossEntropy.lossAndGradient(
                        logits: w.logits.pointer, targets: y.baseAddress!, rows: rows, classes: config.frames,
                        dLogits: w.dLogits.pointer, weight: weight)
                    head.backward(h, w.dLogits.pointer, w.dHidden.pointer, rows: rows, store)
                    encoder.backward(
                        x.baseAddress!, positions: pos.baseAddress!, dOutput: w.dHidden.pointer,
                        w.encoder, store)
                    return (loss, Double(correct) / Double(rows))
                }
            }
        }
    }
}
