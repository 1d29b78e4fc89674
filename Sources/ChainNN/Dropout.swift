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
    public func forward(_ x: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>, count: Int,
                        rng: inout Philox) {
        let keep = 1 - probability, scale = 1 / keep
        for i in 0..<count { mask[i] = rng.nextUniform() < keep ? scale : 0 }
        VectorMath.multiply(x, mask, x, count: count)
    }

    /// dx = dy ⊙ mask, in place.
    public func backward(_ dy: UnsafeMutablePointer<Float>, mask: UnsafePointer<Float>, count: Int) {
        VectorMath.multiply(dy, mask, dy, count: count)
    }
}
