import ChainNN
import ChainNumerics
import Foundation

/// The network and training step of the PyTorch CPU benchmark (`../shared/bench/torch_step.py`),
/// built from this engine's layers, so `chain-bench torch-step` times the same computation:
///
/// - [B,T,F] features → Linear(F→d) → masked frames take a learned mask token → + learned
///   position of the slot → dropout → post-LN transformer (2 layers, d 256, 8 heads, FFN 1024,
///   GELU, dropout 0.1 on residuals, FFN and attention probabilities) → LayerNorm;
/// - video code = tanh(Linear(d→bits)(mean over frames));
/// - view 1 = the clip with 30% of its frames masked; view 2 = the clip with its frames
///   shuffled (another 30% masked); loss = NT-Xent(τ = 0.5) between the two views' codes over
///   the 2B codes + cross-entropy of Linear(d→T) on view 2's frames predicting each slot's
///   original index;
/// - AdamW (lr 1e-4, weight decay 0.01, on the flat buffer).
///
/// View 2's frames are a permutation of view 1's, so with `shareProjection` the F→d projection
/// (the largest matrix product of the step) runs once per clip, and its weight gradient is
/// one product over the summed gradients of both views; the result equals projecting each view.
/// The only difference from `torch.optim.AdamW(model.parameters())` is that this engine's
/// AdamW does not decay biases, norms, embeddings and the mask token, which costs the same.
public final class ReferenceHashNet: @unchecked Sendable {
    /// Sizes and rates; the defaults are torch_step.py's.
    public struct Shape: Sendable, Equatable {
        public var batch = 128, frames = 25, features = 4096
        public var modelSize = 256, heads = 8, ffnSize = 1024, layers = 2, bits = 64
        public var dropout: Float = 0.1
        public var maskRatio: Float = 0.3
        public var temperature: Float = 0.5
        public var learningRate: Float = 1e-4
        public init() {}
    }

    /// The losses of one step.
    public struct Losses: Sendable {
        public var contrastive = 0.0, order = 0.0; public var total: Double { contrastive + order }
    }

    public let shape: Shape
    public let encoder: TransformerEncoder
    public let hash: Linear
    public let orderHead: Linear
    public let store: ParameterStore
    public let optimizer: AdamW
    public let workers: Int
    public let shareProjection: Bool

    let views: [TransformerEncoder.Activations]
    let projected: Tensor, embedded2: Tensor, dEmbedded: [Tensor], shuffled: Tensor
    let pooled: Tensor, preCodes: Tensor, codes: Tensor, dCodes: Tensor, dPooled: Tensor
    let dHidden: [Tensor], logits: Tensor
    var masks: [[Bool]], permutation: [Int], positions: [Int32], targets: [Int32]

    /// `workers` threads split each pass by clips (BLAS should run one thread per call).
    public init(shape: Shape = Shape(), seed: UInt64 = 0, workers: Int = 1, shareProjection: Bool = true) {
        self.shape = shape
        self.workers = workers
        self.shareProjection = shareProjection
        var layout = ParameterLayout()
        encoder = TransformerEncoder(
            "encoder",
            config: EncoderConfig(
                inputSize: shape.features, modelSize: shape.modelSize, layers: shape.layers, heads: shape.heads,
                ffnSize: shape.ffnSize, maxPositions: shape.frames, positional: .learned, placement: .post,
                dropout: shape.dropout, attentionDropout: shape.dropout, finalNorm: true, maskToken: true),
            layout: &layout)
        hash = Linear("hash", inputSize: shape.modelSize, outputSize: shape.bits, layout: &layout)
        orderHead = Linear("order_head", inputSize: shape.modelSize, outputSize: shape.frames, layout: &layout)
        store = ParameterStore(layout: layout)
        store.initialize(Philox(seed: seed).split("init"))
        optimizer = AdamW(store, .init(weightDecay: 0.01))
        optimizer.workers = workers
        let b = shape.batch, t = shape.frames, rows = b * t, d = shape.modelSize
        let encoder = self.encoder
        views = (0..<2).map { _ in TransformerEncoder.Activations(encoder, maxBatch: b, seqLen: t, workers: workers) }
        projected = Tensor(shape: [shareProjection ? rows : 0, d])
        embedded2 = Tensor(shape: [shareProjection ? rows : 0, d])
        let sharedRows = shareProjection ? rows : 0
        dEmbedded = (0..<2).map { _ in Tensor(shape: [sharedRows, d]) }
        shuffled = Tensor(shape: [shareProjection ? 0 : rows, shape.features])
        pooled = Tensor(shape: [2 * b, d])
        preCodes = Tensor(shape: [2 * b, shape.bits])
        codes = Tensor(shape: [2 * b, shape.bits])
        dCodes = Tensor(shape: [2 * b, shape.bits])
        dPooled = Tensor(shape: [2 * b, d])
        dHidden = (0..<2).map { _ in Tensor(shape: [rows, d]) }
        logits = Tensor(shape: [rows, t])
        masks = [[Bool](repeating: false, count: rows), [Bool](repeating: false, count: rows)]
        permutation = [Int](repeating: 0, count: rows)
        positions = (0..<rows).map { Int32($0 % t) }
        targets = [Int32](repeating: 0, count: rows)
    }

    /// One training step on clips [batch·frames, F]: views, forward, backward, AdamW.
    @discardableResult
    public func step(_ clips: UnsafePointer<Float>, rng: inout Philox) -> Losses {
        store.zeroGradients()
        let losses = lossAndGradients(clips, rng: &rng)
        optimizer.update(store, learningRate: shape.learningRate)
        return losses
    }

    /// The loss of one step and its gradient, accumulated into `store.gradients` (zero them first).
    public func lossAndGradients(_ clips: UnsafePointer<Float>, rng: inout Philox) -> Losses {
        let b = shape.batch, t = shape.frames, rows = b * t, d = shape.modelSize, f = shape.features, bits = shape.bits
        // Views: masks for both, a permutation of each clip's frames for view 2.
        for v in 0..<2 { for r in 0..<rows { masks[v][r] = rng.nextUniform() < shape.maskRatio } }
        for clip in 0..<b {
            let p = rng.permutation(t)
            for s in 0..<t {
                permutation[clip * t + s] = clip * t + p[s]
                targets[clip * t + s] = Int32(p[s])
            }
        }

        // Forward both views.
        var hidden: [UnsafeMutablePointer<Float>] = []
        positions.withUnsafeBufferPointer { pos in
            if shareProjection {
                encoder.projection.forward(clips, projected.pointer, rows: rows, store, workers: workers)
                for r in 0..<rows {
                    (embedded2.pointer + r * d).update(from: projected.pointer + permutation[r] * d, count: d)
                }
                for (v, source) in [projected, embedded2].enumerated() {
                    hidden.append(
                        masks[v].withUnsafeBufferPointer {
                            encoder.forward(
                                embedded: source.pointer, positions: pos.baseAddress!, batch: b,
                                tokenMask: $0.baseAddress!,
                                views[v], store, rng: &rng, training: true)
                        })
                }
            } else {
                for r in 0..<rows { (shuffled.pointer + r * f).update(from: clips + permutation[r] * f, count: f) }
                for (v, source) in [clips, UnsafePointer(shuffled.pointer)].enumerated() {
                    hidden.append(
                        masks[v].withUnsafeBufferPointer {
                            encoder.forward(
                                source, positions: pos.baseAddress!, batch: b, tokenMask: $0.baseAddress!,
                                views[v], store, rng: &rng, training: true)
                        })
                }
            }
        }

        // Codes: tanh(Linear(mean over frames)), rows 0..<b view 1, b..<2b view 2.
        for v in 0..<2 {
            for clip in 0..<b {
                let out = pooled.pointer + (v * b + clip) * d
                out.update(repeating: 0, count: d)
                for s in 0..<t { VectorMath.add(hidden[v] + (clip * t + s) * d, into: out, count: d) }
                VectorMath.scale(out, by: 1 / Float(t), count: d)
            }
        }
        hash.forward(pooled.pointer, preCodes.pointer, rows: 2 * b, store)
        for i in 0..<(2 * b * bits) { codes.pointer[i] = tanhf(preCodes.pointer[i]) }

        // NT-Xent between the views (positives i ↔ i + b), mean over the 2b anchors.
        var losses = Losses()
        dCodes.fill(0)
        let positives = (0..<(2 * b)).map { $0 < b ? $0 + b : $0 - b }
        losses.contrastive = ContrastiveLoss(temperature: shape.temperature).lossAndGradient(
            codes: codes.pointer, rows: 2 * b, dim: bits, positives: positives, anchors: 0..<(2 * b),
            totalAnchors: 2 * b,
            dCodes: dCodes.pointer)
        for i in 0..<(2 * b * bits) { dCodes.pointer[i] *= 1 - codes.pointer[i] * codes.pointer[i] }  // through tanh
        hash.backward(pooled.pointer, dCodes.pointer, dPooled.pointer, rows: 2 * b, store)
        for v in 0..<2 {
            for clip in 0..<b {
                let g = dPooled.pointer + (v * b + clip) * d
                for s in 0..<t {
                    let out = dHidden[v].pointer + (clip * t + s) * d
                    for c in 0..<d { out[c] = g[c] / Float(t) }
                }
            }
        }

        // Frame order on view 2: which original frame sits in each slot.
        orderHead.forward(hidden[1], logits.pointer, rows: rows, store)
        losses.order = targets.withUnsafeBufferPointer {
            SoftmaxCrossEntropy.lossAndGradient(
                logits: logits.pointer, targets: $0.baseAddress!, rows: rows, classes: t,
                dLogits: logits.pointer
            ).loss
        }
        orderHead.backward(hidden[1], logits.pointer, dHidden[1].pointer, rows: rows, store, accumulateInput: true)

        // Backward both views; with a shared projection, one weight gradient for both.
        positions.withUnsafeBufferPointer { pos in
            if shareProjection {
                for v in 0..<2 {
                    encoder.backward(
                        dEmbedded: dEmbedded[v].pointer, positions: pos.baseAddress!, dOutput: dHidden[v].pointer,
                        views[v], store)
                }
                let total = dEmbedded[0].pointer, second = dEmbedded[1].pointer
                for r in 0..<rows { VectorMath.add(second + r * d, into: total + permutation[r] * d, count: d) }
                encoder.projection.backwardParameters(clips, total, rows: rows, store, workers: workers)
            } else {
                for (v, source) in [clips, UnsafePointer(shuffled.pointer)].enumerated() {
                    encoder.backward(source, positions: pos.baseAddress!, dOutput: dHidden[v].pointer, views[v], store)
                }
            }
        }
        return losses
    }

    /// Matrix-multiply FLOPs of one step as torch_step.py's `analytic_flops` counts them
    /// (both views projected; backward of the projection = its weight gradient only).
    public static func torchFLOPs(_ s: Shape) -> Double {
        let n = Double(s.batch * s.frames), d = Double(s.modelSize), t = Double(s.frames), f = Double(s.features)
        let proj = 2 * n * f * d
        let perLayer = 2 * n * d * (3 * d + d + 2 * Double(s.ffnSize)) + 2 * (2 * Double(s.batch) * t * t * d)
        let enc = Double(s.layers) * perLayer
        let hash = 2 * Double(s.batch) * d * Double(s.bits)
        let order = 2 * n * d * t
        let ntx = 2 * pow2(2 * Double(s.batch)) * Double(s.bits)
        return 2 * proj * 2 + 3 * (2 * (enc + hash) + order + ntx)
    }

    /// The FLOPs this engine performs: the torch count minus one projection and one of its
    /// weight-gradient products when the projection is shared.
    public static func performedFLOPs(_ s: Shape, shareProjection: Bool) -> Double {
        let proj = 2 * Double(s.batch * s.frames) * Double(s.features) * Double(s.modelSize)
        return torchFLOPs(s) - (shareProjection ? 2 * proj : 0)
    }

    private static func pow2(_ x: Double) -> Double { x * x }
}
