import ChainNumerics

/// The Gaussian error linear unit, exact (erf) form: y = x·Φ(x), as PyTorch's default.
public enum GELU {
    /// y = GELU(x) for `count` elements (may alias).
    public static func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        VectorMath.gelu(x, y, count: count)
    }

    /// dx (= or +=) dy · GELU'(x); x is the layer's input.
    public static func backward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                _ dx: UnsafeMutablePointer<Float>, count: Int, accumulate: Bool = false) {
        VectorMath.geluBackward(x, dy, dx, count: count, accumulate: accumulate)
    }
}
