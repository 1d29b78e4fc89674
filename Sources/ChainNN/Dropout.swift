import CKernels
import ChainNumerics

/// Inverted dropout: keeps each element with probability 1−p and scales it by 1/(1−p).
///
/// The mask (0 or 1/(1−p) per element) is drawn from the caller's generator and stored in a
/// caller-provided buffer, so backward is an element-wise product and a restored generator
/// reproduces the same masks.
public struct Dropout: Sendable {
    public let probability: Float

    public init(probability: Float) {
        precondition(probability >= 0 && probability < 1, "dropout probability \(probability) not in [0, 1)")
        self.probability = probability
    }

    /// Whether this dropout does anything in training.
    public var isActive: Bool { probability > 0 }

    /// Draws a mask and applies it in place: x ⊙= mask.
    public func forward(
        _ x: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>, count: Int,
        rng: inout Philox
    ) {
        drawMask(mask, count: count, rng: &rng)
        VectorMath.multiply(x, mask, x, count: count)
    }

    /// mask[i] = 1/(1−p) where the i-th uniform of `rng` is below 1−p, else 0 (the same numbers
    /// as `rng.nextUniform()` drawn `count` times, computed by a vectorised C kernel).
    public func drawMask(_ mask: UnsafeMutablePointer<Float>, count: Int, rng: inout Philox) {
        let keep = 1 - probability
        chain_dropout_mask(rng.state.seed, rng.state.stream, rng.state.position, Int64(count), keep, 1 / keep, mask)
        rng.skip(count)
    }

    /// dx = dy ⊙ mask, in place.
    public func backward(_ dy: UnsafeMutablePointer<Float>, mask: UnsafePointer<Float>, count: Int) {
        VectorMath.multiply(dy, mask, dy, count: count)
    }
}
