import CKernels
import ChainNumerics
import Foundation

/// Adam with decoupled weight decay (Loshchilov & Hutter), exactly as `torch.optim.AdamW`:
/// p ← p·(1 − lr·λ) − lr · m̂ / (√v̂ + ε), with bias-corrected moments m̂, v̂.
///
/// Its moments are flat buffers parallel to the parameter buffer, so saving, restoring and
/// broadcasting the optimizer state are single operations. Parameters whose `decays` flag
/// is false (biases, norms, embeddings) get no weight decay.
public final class AdamW: @unchecked Sendable {
    public struct Hyperparameters: Sendable, Equatable, Codable {
        public var beta1: Float
        public var beta2: Float
        public var epsilon: Float
        public var weightDecay: Float
        public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
            self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon; self.weightDecay = weightDecay
        }
    }

    public let hyperparameters: Hyperparameters
    /// First and second moments, one float per entry of the parameter buffer.
    public let firstMoment: Tensor
    public let secondMoment: Tensor
    /// Number of steps taken (the bias correction uses it).
    public var step: Int = 0
    /// Threads the update is split over (it is element-wise).
    public var workers = 1
    private let decayRanges: [(offset: Int, count: Int, decays: Bool)]

    public init(_ store: ParameterStore, _ h: Hyperparameters = .init()) {
        hyperparameters = h
        firstMoment = Tensor(shape: [store.layout.count])
        secondMoment = Tensor(shape: [store.layout.count])
        decayRanges = store.layout.parameters.map { ($0.offset, $0.count, $0.decays) }
    }

    /// One update of every parameter from the gradients currently in `store`.
    public func update(_ store: ParameterStore, learningRate lr: Float) {
        step += 1
        let h = hyperparameters
        let c1 = 1 - Float(pow(Double(h.beta1), Double(step)))
        let c2 = 1 - Float(pow(Double(h.beta2), Double(step)))
        let stepSize = lr / c1, rootC2 = c2.squareRoot()
        let p = store.values.pointer, g = store.gradients.pointer
        let m = firstMoment.pointer, v = secondMoment.pointer
        for range in decayRanges {
            let decay = range.decays ? 1 - lr * h.weightDecay : 1
            let parts = min(max(workers, 1), max(range.count / 65_536, 1))
            Parallel.forEach(parts) { w in
                let r = Parallel.share(w, of: parts, total: range.count)
                let o = range.offset + r.lowerBound
                chain_adamw_update(
                    p + o, g + o, m + o, v + o, Int64(r.count), h.beta1, h.beta2, h.epsilon, stepSize, rootC2, decay)
            }
        }
    }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm`; returns the norm
/// before clipping.
@discardableResult
public func clipGradientNorm(_ store: ParameterStore, maxNorm: Float) -> Float {
    let norm = Float(VectorMath.sumOfSquares(store.gradients.pointer, count: store.gradients.count).squareRoot())
    if norm > maxNorm, norm > 0 {
        VectorMath.scale(store.gradients.pointer, by: maxNorm / norm, count: store.gradients.count)
    }
    return norm
}
