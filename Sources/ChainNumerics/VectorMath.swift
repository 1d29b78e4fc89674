import CKernels

/// Vectorised element-wise kernels over raw float buffers.
///
/// exp is a SIMD polynomial approximation accurate to a few float ulps, evaluated 8 lanes at
/// a time; tails go through the same code on a padded vector, so every element sees exactly
/// the same arithmetic. GELU and the element-wise product run in C kernels (`CKernels`) that
/// use AVX2/FMA when the CPU has them, with the same polynomials.
public enum VectorMath {
    public typealias Vector = SIMD8<Float>

    // MARK: exp

    /// e^x for each lane (Cephes-style range reduction; relative error < 3e-7 on [-87, 88]).
    /// Below −87.3 (where e^x leaves the normal range) the result is exactly 0, so −∞ maps
    /// to 0 (masked attention scores get exactly zero weight); above 88.37 it saturates at ≈ 2.4e38.
    @inlinable @inline(__always)
    public static func exp(_ x: Vector) -> Vector {
        exponentialKernel(x).replacing(with: 0, where: x .< -87.33654)
    }

    @usableFromInline @inline(__always)
    static func exponentialKernel(_ x: Vector) -> Vector {
        let low = Vector(repeating: -87.33654), high = Vector(repeating: 88.37626)
        let clamped = x.replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
        // Round x·log2(e) to the nearest integer n by adding 1.5·2^23: the sum's low mantissa
        // bits then hold n (exact for |n| < 2^22), so no float→int conversion is needed.
        let magic = Vector(repeating: 12582912)
        let shifted = clamped * 1.44269504088896341 + magic
        let n = shifted - magic
        var r = clamped - n * 0.693359375
        r = r + n * 2.12194440e-4
        var p = Vector(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        p = p * (r * r) + r + 1
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        let exponent = (integer &+ 127) &<< 23
        return p * unsafeBitCast(exponent, to: Vector.self)
    }

    /// e^x for a scalar, with the same arithmetic as the vector form.
    @inlinable
    public static func exp(_ x: Float) -> Float { exp(Vector(repeating: x))[0] }

    // MARK: GELU (exact, erf form, as PyTorch's default)

    /// y = x · Φ(x) for `count` elements (x and y may alias); when `derivative` is given it
    /// also receives GELU'(x) = Φ(x) + x·φ(x) (it may alias x). erf is Abramowitz & Stegun
    /// 7.1.26 (< 3e-7 absolute in float32), evaluated by a C kernel 8 lanes wide on AVX2.
    public static func gelu(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
        derivative: UnsafeMutablePointer<Float>? = nil
    ) {
        chain_gelu_forward(x, y, derivative, Int64(count))
    }

    /// dx (=, or += when `accumulate`) dy · GELU'(x).
    public static func geluBackward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
        _ dx: UnsafeMutablePointer<Float>, count: Int, accumulate: Bool = false
    ) {
        chain_gelu_backward(x, dy, dx, Int64(count), accumulate ? 1 : 0)
    }

    // MARK: Simple element-wise operations

    /// y += x.
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }

    /// y += s·x.
    public static func addScaled(
        _ x: UnsafePointer<Float>, by s: Float, into y: UnsafeMutablePointer<Float>, count: Int
    ) {
        for i in 0..<count { y[i] += s * x[i] }
    }

    /// z = x + y (z may alias x or y).
    public static func add(
        _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
        _ z: UnsafeMutablePointer<Float>, count: Int
    ) {
        for i in 0..<count { z[i] = x[i] + y[i] }
    }

    /// y *= s.
    public static func scale(_ y: UnsafeMutablePointer<Float>, by s: Float, count: Int) {
        for i in 0..<count { y[i] *= s }
    }

    /// y = x ⊙ m, or y += x ⊙ m when `accumulate` (y may alias x).
    public static func multiply(
        _ x: UnsafePointer<Float>, _ m: UnsafePointer<Float>,
        _ y: UnsafeMutablePointer<Float>, count: Int, accumulate: Bool = false
    ) {
        chain_multiply(x, m, y, Int64(count), accumulate ? 1 : 0)
    }

    /// Σ x_i in float, with eight independent partial sums (vectorised; the summation order
    /// differs from a left-to-right loop).
    @inlinable
    public static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var acc = Vector()
        var i = 0
        while i + 8 <= count { acc += UnsafeRawPointer(x + i).loadUnaligned(as: Vector.self); i += 8 }
        var s = acc.sum()
        while i < count { s += x[i]; i += 1 }
        return s
    }

    /// Σ x_i · y_i in float, with eight independent partial sums (vectorised).
    @inlinable
    public static func dotFloat(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        var acc = Vector()
        var i = 0
        while i + 8 <= count {
            acc +=
                UnsafeRawPointer(x + i).loadUnaligned(as: Vector.self)
                * UnsafeRawPointer(y + i).loadUnaligned(as: Vector.self)
            i += 8
        }
        var s = acc.sum()
        while i < count { s += x[i] * y[i]; i += 1 }
        return s
    }

    /// Σ x_i · y_i accumulated in double precision.
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Double {
        var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
        var total = 0.0
        var i = 0
        while i + 4 <= count {
            s0 += x[i] * y[i]; s1 += x[i + 1] * y[i + 1]
            s2 += x[i + 2] * y[i + 2]; s3 += x[i + 3] * y[i + 3]
            i += 4
            if i & 1023 == 0 { total += Double(s0 + s1 + s2 + s3); s0 = 0; s1 = 0; s2 = 0; s3 = 0 }
        }
        while i < count { s0 += x[i] * y[i]; i += 1 }
        return total + Double(s0 + s1 + s2 + s3)
    }

    /// Σ x_i² in double precision.
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double { dot(x, x, count: count) }

    // MARK: Vector loop helpers

    /// Calls `body(i, lanes)` for i = 0, 8, 16, …; `lanes` < 8 only for the tail.
    @inlinable @inline(__always)
    public static func forEachVector(_ count: Int, _ body: (Int, Int) -> Void) {
        var i = 0
        while i + 8 <= count { body(i, 8); i += 8 }
        if i < count { body(i, count - i) }
    }

    /// Loads `lanes` (≤ 8) floats, padding with zeros.
    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Float>, _ lanes: Int) -> Vector {
        if lanes == 8 { return UnsafeRawPointer(p).loadUnaligned(as: Vector.self) }
        var v = Vector()
        for l in 0..<lanes { v[l] = p[l] }
        return v
    }

    @inlinable @inline(__always)
    public static func load(_ p: UnsafeMutablePointer<Float>, _ lanes: Int) -> Vector {
        load(UnsafePointer(p), lanes)
    }

    /// Stores the first `lanes` (≤ 8) lanes.
    @inlinable @inline(__always)
    public static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, _ lanes: Int) {
        if lanes == 8 { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self); return }
        for l in 0..<lanes { p[l] = v[l] }
    }
}
