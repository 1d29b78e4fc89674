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
    public func lossAndGradient(anchors x: UnsafePointer<Float>, rows: Int, dim: Int,
                                prototypes: UnsafePointer<Float>, count k: Int, targets: [Int32],
                                totalAnchors: Int, dAnchors: UnsafeMutablePointer<Float>) -> Double {
        precondition(targets.count == rows)
        guard rows > 0, k > 0, totalAnchors > 0 else { return 0 }
        let u = Tensor(shape: [rows, dim]), norms = Tensor(shape: [rows])
        RowNormalization.forward(x, u.pointer, norms: norms.pointer, rows: rows, columns: dim)
        let logits = Tensor(shape: [rows, k])
        BLAS.gemm(transposeB: true, m: rows, n: k, k: dim, alpha: 1 / temperature, a: u.pointer, lda: dim,
                  b: prototypes, ldb: dim, c: logits.pointer, ldc: k)
        let dLogits = Tensor(shape: [rows, k])
        let (loss, _) = targets.withUnsafeBufferPointer {
            SoftmaxCrossEntropy.lossAndGradient(logits: logits.pointer, targets: $0.baseAddress!, rows: rows, classes: k,
                                                dLogits: dLogits.pointer)
        }
        // lossAndGradient averaged over the valid local rows; rescale to the global mean.
        let valid = targets.filter { $0 >= 0 }.count
        guard valid > 0 else { return 0 }
        let rescale = Float(valid) / Float(totalAnchors)
        let du = Tensor(shape: [rows, dim])
        BLAS.gemm(m: rows, n: dim, k: k, alpha: rescale / temperature, a: dLogits.pointer, lda: k,
                  b: prototypes, ldb: dim, c: du.pointer, ldc: dim)
        RowNormalization.backward(u.pointer, du.pointer, norms: norms.pointer, dAnchors, rows: rows, columns: dim,
                                  accumulate: true)
        return loss * Double(valid) / Double(totalAnchors)
    }
}
