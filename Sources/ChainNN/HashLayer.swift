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
///
/// With a `shortcut`, a second Linear(F → bits) of each row's *input* features (what the
/// encoder read for that token) is added before the LayerNorm: h = LN(W·x + b + S·f + c).
/// Initialised from the principal components of the training frames
/// (`CHAINModel.fitInputShortcut`), it starts the codes at a PCA hash of the input, so what
/// the features already know is kept while the encoder learns what they do not. A fixed
/// shortcut (`trainsShortcut` false) gets no gradient and no weight decay: it stays as fitted.
public struct HashLayer: Sendable {
    public let bits: Int
    public let linear: Linear
    public let norm: LayerNorm
    public let shortcut: Linear?
    public let trainsShortcut: Bool

    public init(
        _ name: String, inputSize: Int, bits: Int, shortcutInputSize: Int? = nil, trainsShortcut: Bool = true,
        layout: inout ParameterLayout
    ) {
        self.bits = bits
        self.trainsShortcut = trainsShortcut
        linear = Linear("\(name).linear", inputSize: inputSize, outputSize: bits, layout: &layout)
        norm = LayerNorm("\(name).norm", size: bits, layout: &layout)
        shortcut = shortcutInputSize.map {
            Linear(
                "\(name).shortcut", inputSize: $0, outputSize: bits, weightInit: .zeros, weightDecays: trainsShortcut,
                layout: &layout)
        }
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

    /// codes[rows, bits] = activation(LN(x·Wᵀ + b [+ input·Sᵀ + c])). x: [rows, d];
    /// `input`: [rows, F] the rows' input features, required exactly when there is a shortcut.
    public func forward(
        _ x: UnsafePointer<Float>, _ codes: UnsafeMutablePointer<Float>, rows: Int,
        _ a: Activations, _ params: ParameterStore, activation: HashActivation = .sign,
        input: UnsafePointer<Float>? = nil
    ) {
        precondition(rows <= a.maxRows, "hash layer rows \(rows) exceed capacity \(a.maxRows)")
        precondition((input != nil) == (shortcut != nil), "the hash layer's shortcut needs the input features")
        linear.forward(x, a.projected.pointer, rows: rows, params)
        if let shortcut, let input {
            shortcut.forward(input, a.projected.pointer, rows: rows, params, accumulate: true)
        }
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
        dNormalized: UnsafePointer<Float>? = nil, input: UnsafePointer<Float>? = nil
    ) {
        precondition((input != nil) == (shortcut != nil), "the hash layer's shortcut needs the input features")
        let h = a.normalized.pointer, dh = a.dNormalized.pointer
        for i in 0..<(rows * bits) { dh[i] = abs(h[i]) < 1 ? dCodes[i] : 0 }
        if let dNormalized { VectorMath.add(dNormalized, into: dh, count: rows * bits) }
        norm.backward(a.projected.pointer, dh, a.dProjected.pointer, stats: a.stats.pointer, rows: rows, params)
        linear.backward(x, a.dProjected.pointer, dx, rows: rows, params, accumulateInput: accumulateInput)
        if let shortcut, let input, trainsShortcut {
            shortcut.backward(input, a.dProjected.pointer, nil, rows: rows, params)
        }
    }
}
