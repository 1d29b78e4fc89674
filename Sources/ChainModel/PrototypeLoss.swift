import ChainNN
import ChainNumerics
import Foundation

/// InfoNCE of L2-normalised anchors against a fixed set of unit prototypes: each anchor is
/// pulled to its own prototype and pushed from all the others,
///     ℓ_t = −log softmax_k(û_t·p_k / τ)[target_t].
/// CHAIN's scene-change regulariser uses it with frames as anchors and the scene prototypes
/// of the global batch as candidates; prototypes carry no gradient. Anchors with target −1
/// (their video found no scenes) are skipped.
public struct PrototypeLoss: Sendable, Equatable {
    public var temperature: Float

    public init(temperature: Float = 0.1) {
        precondition(temperature > 0, "prototype temperature must be positive")
        self.temperature = temperature
    }

    /// anchors: [rows, dim] raw; prototypes: [count, dim] unit rows; accumulates dL/danchors
    /// (the loss is Σ ℓ_t / `totalAnchors`). Returns this call's share of the loss.
    /// `workspace` (reused across calls by a step) holds the scratch; nil allocates it.
    public func lossAndGradient(
        anchors x: UnsafePointer<Float>, rows: Int, dim: Int,
        prototypes: UnsafePointer<Float>, count k: Int, targets: [Int32],
        totalAnchors: Int, dAnchors: UnsafeMutablePointer<Float>,
        workspace: Workspace? = nil
    ) -> Double {
        precondition(targets.count == rows)
        guard rows > 0, k > 0, totalAnchors > 0 else { return 0 }
        let scratch = workspace ?? Workspace()
        // u [rows, dim] unit anchors, norms [rows]; logits, dLogits [rows, k]; du [rows, dim].
        let u = scratch.zeroed(0, count: rows * dim), norms = scratch.zeroed(1, count: rows)
        RowNormalization.forward(x, u, norms: norms, rows: rows, columns: dim)
        let logits = scratch.zeroed(2, count: rows * k)
        BLAS.gemm(
            transposeB: true, m: rows, n: k, k: dim, alpha: 1 / temperature, a: u, lda: dim,
            b: prototypes, ldb: dim, c: logits, ldc: k)
        let dLogits = scratch.zeroed(3, count: rows * k)
        let (loss, _) = targets.withUnsafeBufferPointer {
            SoftmaxCrossEntropy.lossAndGradient(
                logits: logits, targets: $0.baseAddress!, rows: rows, classes: k,
                dLogits: dLogits)
        }
        // lossAndGradient averaged over the valid local rows; rescale to the global mean.
        let valid = targets.filter { $0 >= 0 }.count
        guard valid > 0 else { return 0 }
        let rescale = Float(valid) / Float(totalAnchors)
        let du = scratch.zeroed(4, count: rows * dim)
        BLAS.gemm(
            m: rows, n: dim, k: k, alpha: rescale / temperature, a: dLogits, lda: k,
            b: prototypes, ldb: dim, c: du, ldc: dim)
        RowNormalization.backward(u, du, norms: norms, dAnchors, rows: rows, columns: dim, accumulate: true)
        return loss * Double(valid) / Double(totalAnchors)
    }
}
