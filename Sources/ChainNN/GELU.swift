import ChainNumerics

/// The Gaussian error linear unit, exact (erf) form: y = x·Φ(x), as PyTorch's default.
public enum GELU {
    /// y = GELU(x) for `count` elements (may alias).
    public static func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        VectorMath.gelu(x, y, count: count)
    }

    /// y = GELU(x), and x is overwritten with GELU'(x), which is all backward needs of it
    /// (`backward(derivative:)`): one pass of the transcendental functions instead of two.
    public static func forward(
        replacingWithDerivative x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>,
        count: Int
    ) {
        VectorMath.gelu(x, y, count: count, derivative: x)
    }

    /// dx = (or += when `accumulate`) dy · GELU'(x), from the derivative saved by forward.
    public static func backward(
        derivative: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
        _ dx: UnsafeMutablePointer<Float>, count: Int, accumulate: Bool = false
    ) {
        VectorMath.multiply(dy, derivative, dx, count: count, accumulate: accumulate)
    }

    /// dx (= or +=) dy · GELU'(x); x is the layer's input.
    public static func backward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
        _ dx: UnsafeMutablePointer<Float>, count: Int, accumulate: Bool = false
    ) {
        VectorMath.geluBackward(x, dy, dx, count: count, accumulate: accumulate)
    }
}
