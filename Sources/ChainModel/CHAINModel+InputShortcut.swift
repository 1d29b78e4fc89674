import ChainNumerics

extension CHAINModel {
    /// Sets the hash layer's input shortcut from the training frames' moments: row k of S is
    /// u_k / √λ_k (the k-th principal direction, whitened) and c_k = −S_k·μ, so S·f + c holds
    /// the standardised principal coordinates of frame f. Components beyond F, or with
    /// λ_k ≤ 10⁻⁸·λ₁, get zero rows. Does nothing without a shortcut.
    public func fitInputShortcut(_ moments: FrameMoments) {
        guard let shortcut = hash.shortcut else { return }
        let f = shortcut.inputSize, bits = shortcut.outputSize
        precondition(moments.featureSize == f, "shortcut: moments of \(moments.featureSize) features, not \(f)")
        let (values, vectors) = SymmetricEigen.decompose(moments.covariance, n: f)
        let mean = moments.mean
        let w = store.value(shortcut.weight)
        w.update(repeating: 0, count: bits * f)
        let c = shortcut.bias.map { store.value($0) }
        c?.update(repeating: 0, count: bits)
        for k in 0..<min(bits, f) where values[k] > 1e-8 * max(values[0], 0) {
            let scale = 1 / values[k].squareRoot()
            var offset = 0.0
            for j in 0..<f {
                let s = vectors[k * f + j] * scale
                w[k * f + j] = Float(s)
                offset -= s * mean[j]
            }
            c?[k] = Float(offset)
        }
    }
}
