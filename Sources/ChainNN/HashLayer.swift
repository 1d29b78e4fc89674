import ChainNumerics

/// What the hash layer outputs in its forward pass.
public enum HashActivation: Sendable {
    /// sign(h) ∈ {−1, +1}, with sign(0) = +1. Training and inference use this.
    case sign
    /// hardtanh(h) = clamp(h, −1, 1): the function whose gradient the straight-through
    /// estimator uses. Gradient checks compare against finite differences of this.
    case hardTanh
}

/// The hashing head: Linear(d → bits) → LayerNorm(bits) → sign, with the hard-tanh
/// straight-through gradient (dL/dh = dL/dcode where |h| < 1, else 0).
public struct HashLayer: Sendable {
    public let bits: Int
    public let linear: Linear
    public let norm: LayerNorm

    public init(_ name: String, inputSize: Int, bits: Int, layout: inout ParameterLayout) {
        self.bits = bits
        linear = Linear("\(name).linear", inputSize: inputSize, outputSize: bits, layout: &layout)
        norm = LayerNorm("\(name).norm", size: bits, layout: &layout)
    }

    /// Saved activations for one pass.
    public final class Activations: @unchecked Sendable {
        public let maxRows: Int
        let projected: Tensor, stats: Tensor
        /// The normalised pre-binarisation values h (the STE gate reads them).
        public let normalized: Tensor
        let dNormalized: Tensor, dProjected: Tensor

        public init(_ layer: HashLayer, maxRows: Int) {
            self.maxRows = maxRows
            projected = Tensor(shape: [maxRows, layer.bits])
            stats = Tensor(shape: [maxRows, 2])
            normalized = Tensor(shape: [maxRows, layer.bits])
            dNormalized = Tensor(shape: [maxRows, layer.bits])
            dProjected = Tensor(shape: [maxRows, layer.bits])
        }
    }

    /// codes[rows, bits] = activation(LN(x·Wᵀ + b)).
    public func forward(
        _ x: UnsafePointer<Float>, _ codes: UnsafeMutablePointer<Float>, rows: Int,
        _ a: Activations, _ params: ParameterStore, activation: HashActivation = .sign
    ) {
        precondition(rows <= a.maxRows, "hash layer rows \(rows) exceed capacity \(a.maxRows)")
        linear.forward(x, a.projected.pointer, rows: rows, params)
        norm.forward(a.projected.pointer, a.normalized.pointer, stats: a.stats.pointer, rows: rows, params)
        let h = a.normalized.pointer
        switch activation {
        case .sign: for i in 0..<(rows * bits) { codes[i] = h[i] < 0 ? -1 : 1 }
        case .hardTanh: for i in 0..<(rows * bits) { codes[i] = min(max(h[i], -1), 1) }
        }
    }

    /// Straight-through backward: dh = dcodes · 1[|h| < 1] (+ `dNormalized`, a gradient that
    /// a loss applied to h itself, not to the codes); then through LN and Linear.
    public func backward(
        _ x: UnsafePointer<Float>, _ dCodes: UnsafePointer<Float>,
        _ dx: UnsafeMutablePointer<Float>?, rows: Int, _ a: Activations,
        _ params: ParameterStore, accumulateInput: Bool = false,
        dNormalized: UnsafePointer<Float>? = nil
    ) {
        let h = a.normalized.pointer, dh = a.dNormalized.pointer
        for i in 0..<(rows * bits) { dh[i] = abs(h[i]) < 1 ? dCodes[i] : 0 }
        if let dNormalized { VectorMath.add(dNormalized, into: dh, count: rows * bits) }
        norm.backward(a.projected.pointer, dh, a.dProjected.pointer, stats: a.stats.pointer, rows: rows, params)
        linear.backward(x, a.dProjected.pointer, dx, rows: rows, params, accumulateInput: accumulateInput)
    }
}
