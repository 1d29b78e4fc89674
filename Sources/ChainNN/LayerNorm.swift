import CKernels
import ChainNumerics

/// Layer normalisation over the last dimension, with optional affine scale and shift.
///
/// Forward saves each row's mean and 1/σ in a caller-provided `stats` buffer (2 floats per
/// row), which backward reads; nothing else is cached. The row loops are C kernels
/// (`CKernels`, AVX2/FMA when available).
public struct LayerNorm: Sendable {
    public let size: Int
    public let epsilon: Float
    public let gamma: Parameter?
    public let beta: Parameter?

    public init(
        _ name: String, size: Int, epsilon: Float = 1e-5, affine: Bool = true,
        layout: inout ParameterLayout
    ) {
        self.size = size
        self.epsilon = epsilon
        gamma = affine ? layout.add("\(name).weight", shape: [size], initializer: .ones, decays: false) : nil
        beta = affine ? layout.add("\(name).bias", shape: [size], initializer: .zeros, decays: false) : nil
    }

    /// y = (x − μ)/σ · γ + β per row; stats[2r] = μ, stats[2r+1] = 1/σ. x and y may alias.
    public func forward(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
        stats: UnsafeMutablePointer<Float>, rows: Int, _ params: ParameterStore
    ) {
        chain_layer_norm_forward(
            x, y, stats, Int64(rows), Int64(size), gamma.map { UnsafePointer(params.value($0)) },
            beta.map { UnsafePointer(params.value($0)) }, epsilon)
    }

    /// Accumulates dγ, dβ; dx = (or += when `accumulateInput`) the input gradient.
    /// dx may not alias x; it may alias dy only when not accumulating.
    public func backward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
        _ dx: UnsafeMutablePointer<Float>, stats: UnsafePointer<Float>, rows: Int,
        _ params: ParameterStore, accumulateInput: Bool = false
    ) {
        chain_layer_norm_backward(
            x, dy, dx, stats, Int64(rows), Int64(size), gamma.map { UnsafePointer(params.value($0)) },
            gamma.map { params.gradient($0) }, beta.map { params.gradient($0) },
            accumulateInput ? 1 : 0)
    }
}
