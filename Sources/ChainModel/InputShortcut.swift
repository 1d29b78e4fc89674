/// Whether the hash layer also reads the frames' input features directly (`HashLayer.shortcut`).
public enum InputShortcut: String, Sendable, Codable, CaseIterable {
    /// Codes come from the encoder's output only.
    case none
    /// A Linear(F → bits) of each frame's input features is added before the hash layer's
    /// LayerNorm, initialised to the whitened principal components of the training frames
    /// and trained with the rest: training starts from a PCA hash of the input.
    case pca
    /// The same, fitted once and then held fixed (no gradient, no weight decay): the
    /// encoder's term learns on top of a PCA hash that training cannot erode.
    case pcaFixed = "pca_fixed"

    /// Whether the hash layer has a shortcut.
    public var isPresent: Bool { self != .none }
}
