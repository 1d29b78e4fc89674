import Foundation

/// Numerically stable softmax and log-softmax over the rows of a matrix.
public enum Softmax {
    /// y[r, :] = softmax(x[r, :]) for `rows` rows of `columns` (x and y may alias).
    /// Entries equal to -inf get probability 0; a row that is all -inf becomes all zeros.
    public static func forward(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
        rows: Int, columns: Int
    ) {
        for r in 0..<rows {
            let xr = x + r * columns, yr = y + r * columns
            var maximum = -Float.infinity
            for c in 0..<columns { maximum = max(maximum, xr[c]) }
            if maximum == -.infinity { yr.update(repeating: 0, count: columns); continue }
            var sum: Float = 0
            VectorMath.forEachVector(columns) { i, lanes in
                let e = VectorMath.exp(VectorMath.load(xr + i, lanes) - maximum)
                VectorMath.store(e, yr + i, lanes)
                for l in 0..<lanes { sum += e[l] }
            }
            let inverse = 1 / sum
            for c in 0..<columns { yr[c] *= inverse }
        }
    }

    /// y[r, :] = log softmax(x[r, :]) (x and y may alias). Returns nothing for all -inf rows
    /// beyond -inf entries.
    public static func logForward(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
        rows: Int, columns: Int
    ) {
        for r in 0..<rows {
            let xr = x + r * columns, yr = y + r * columns
            var maximum = -Float.infinity
            for c in 0..<columns { maximum = max(maximum, xr[c]) }
            var sum: Float = 0
            VectorMath.forEachVector(columns) { i, lanes in
                let e = VectorMath.exp(VectorMath.load(xr + i, lanes) - maximum)
                for l in 0..<lanes { sum += e[l] }
            }
            let logNormalizer = maximum + Float(log(Double(sum)))
            for c in 0..<columns { yr[c] = xr[c] - logNormalizer }
        }
    }

    /// Softmax backward for one row set: dx = y ⊙ (dy − Σ dy⊙y) (dx may alias dy).
    public static func backward(
        _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
        _ dx: UnsafeMutablePointer<Float>, rows: Int, columns: Int
    ) {
        for r in 0..<rows {
            let yr = y + r * columns, dyr = dy + r * columns, dxr = dx + r * columns
            var inner: Float = 0
            for c in 0..<columns { inner += dyr[c] * yr[c] }
            for c in 0..<columns { dxr[c] = yr[c] * (dyr[c] - inner) }
        }
    }
}
