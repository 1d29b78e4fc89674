import ChainNumerics

/// L2 normalisation of matrix rows, y = x / max(‖x‖, ε), with its backward pass.
public enum RowNormalization {
    /// Writes y (may alias x) and each row's norm into `norms`.
    public static func forward(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, norms: UnsafeMutablePointer<Float>,
        rows: Int, columns: Int, epsilon: Float = 1e-12
    ) {
        for r in 0..<rows {
            let n = max(VectorMath.dotFloat(x + r * columns, x + r * columns, count: columns).squareRoot(), epsilon)
            norms[r] = n
            let inverse = 1 / n
            for c in 0..<columns { y[r * columns + c] = x[r * columns + c] * inverse }
        }
    }

    /// dx (= or += when `accumulate`) (dy − y·(y·dy)) / ‖x‖, given the normalised rows y.
    public static func backward(
        _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, norms: UnsafePointer<Float>,
        _ dx: UnsafeMutablePointer<Float>, rows: Int, columns: Int, accumulate: Bool = false
    ) {
        for r in 0..<rows {
            let yr = y + r * columns, dyr = dy + r * columns, dxr = dx + r * columns
            let inner = VectorMath.dotFloat(yr, dyr, count: columns)
            let inverse = 1 / norms[r]
            for c in 0..<columns {
                let v = (dyr[c] - yr[c] * inner) * inverse
                dxr[c] = accumulate ? dxr[c] + v : v
            }
        }
    }
}
