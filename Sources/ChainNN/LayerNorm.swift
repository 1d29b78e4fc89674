import ChainNumerics

/// Layer normalisation over the last dimension, with optional affine scale and shift.
///
/// Forward saves each row's mean and 1/σ in a caller-provided `stats` buffer (2 floats per
/// row), which backward reads; nothing else is cached.
public struct LayerNorm: Sendable {
    public let size: Int
    public let epsilon: Float
    public let gamma: Parameter?
    public let beta: Parameter?

    public init(_ name: String, size: Int, epsilon: Float = 1e-5, affine: Bool = true,
                layout: inout ParameterLayout) {
        self.size = size
        self.epsilon = epsilon
        gamma = affine ? layout.add("\(name).weight", shape: [size], initializer: .ones, decays: false) : nil
        beta = affine ? layout.add("\(name).bias", shape: [size], initializer: .zeros, decays: false) : nil
    }

    /// y = (x − μ)/σ · γ + β per row; stats[2r] = μ, stats[2r+1] = 1/σ. x and y may alias.
    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                        stats: UnsafeMutablePointer<Float>, rows: Int, _ params: ParameterStore) {
        let g = gamma.map { UnsafePointer(params.value($0)) }
        let b = beta.map { UnsafePointer(params.value($0)) }
        let n = Float(size)
        for r in 0..<rows {
            let xr = x + r * size, yr = y + r * size
            let mean = VectorMath.sum(xr, count: size) / n
            let rstd = 1 / (VectorMath.sumOfSquaredDeviations(xr, from: mean, count: size) / n + epsilon).squareRoot()
            stats[2 * r] = mean
            stats[2 * r + 1] = rstd
            if let g, let b {
                for i in 0..<size { yr[i] = (xr[i] - mean) * rstd * g[i] + b[i] }
            } else {
                for i in 0..<size { yr[i] = (xr[i] - mean) * rstd }
            }
        }
    }

    /// Accumulates dγ, dβ; dx = (or += when `accumulateInput`) the input gradient.
    /// dx may not alias x; it may alias dy only when not accumulating.
    public func backward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                         _ dx: UnsafeMutablePointer<Float>, stats: UnsafePointer<Float>, rows: Int,
                         _ params: ParameterStore, accumulateInput: Bool = false) {
        let g = gamma.map { UnsafePointer(params.value($0)) }
        let dg = gamma.map { params.gradient($0) }
        let db = beta.map { params.gradient($0) }
        let n = Float(size)
        for r in 0..<rows {
            let xr = x + r * size, dyr = dy + r * size, dxr = dx + r * size
            let mean = stats[2 * r], rstd = stats[2 * r + 1]
            var meanDxhat: Float = 0, meanDxhatXhat: Float = 0
            for i in 0..<size {
                let xhat = (xr[i] - mean) * rstd
                let dxhat = g.map { dyr[i] * $0[i] } ?? dyr[i]
                meanDxhat += dxhat
                meanDxhatXhat += dxhat * xhat
                if let dg, let db { dg[i] += dyr[i] * xhat; db[i] += dyr[i] }
            }
            meanDxhat /= n
            meanDxhatXhat /= n
            for i in 0..<size {
                let xhat = (xr[i] - mean) * rstd
                let dxhat = g.map { dyr[i] * $0[i] } ?? dyr[i]
                let v = rstd * (dxhat - meanDxhat - xhat * meanDxhatXhat)
                dxr[i] = accumulateInput ? dxr[i] + v : v
            }
        }
    }
}
