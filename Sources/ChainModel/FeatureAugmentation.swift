import ChainNumerics

/// CHAIN's spatial augmentation in feature space, for datasets without pre-extracted
/// augmented copies: one transform per view, applied identically to every frame of it
/// (temporally consistent, like one crop/flip/colour setting for a whole clip).
///
/// x'_f = g · m_f · x_f / (1 − p) + σ · std_f · n_f, with a per-view gain g ~ U(gainLow,
/// gainHigh), a channel mask m_f ~ Bernoulli(1 − p), and one noise vector n ~ N(0, I) scaled
/// by each feature's standard deviation over the dataset.
public struct FeatureAugmentation: Sendable, Equatable, Codable {
    public var channelDropout: Float
    public var gainLow: Float
    public var gainHigh: Float
    public var noise: Float

    public init(channelDropout: Float = 0.1, gainLow: Float = 0.8, gainHigh: Float = 1.2, noise: Float = 0.1) {
        precondition(channelDropout >= 0 && channelDropout < 1, "channelDropout must be in [0, 1)")
        precondition(gainLow > 0 && gainLow <= gainHigh, "gain range must be positive and ordered")
        precondition(noise >= 0, "noise must be non-negative")
        self.channelDropout = channelDropout
        self.gainLow = gainLow
        self.gainHigh = gainHigh
        self.noise = noise
    }

    /// No change at all (for ablations and evaluation).
    public static let identity = FeatureAugmentation(channelDropout: 0, gainLow: 1, gainHigh: 1, noise: 0)

    /// Transforms `frames` rows of `featureSize` in place. `featureStd` may be nil (std 1).
    public func apply(
        _ x: UnsafeMutablePointer<Float>, frames: Int, featureSize f: Int,
        featureStd: UnsafePointer<Float>?, rng: inout Philox
    ) {
        if self == .identity { return }
        let gain = rng.nextUniform(gainLow, gainHigh)
        let keep = 1 - channelDropout
        var scale = [Float](repeating: 0, count: f), shift = [Float](repeating: 0, count: f)
        for k in 0..<f {
            scale[k] = rng.nextUniform() < keep ? gain / keep : 0
            shift[k] = noise > 0 ? noise * (featureStd?[k] ?? 1) * rng.nextGaussian() : 0
        }
        for r in 0..<frames {
            let row = x + r * f
            for k in 0..<f { row[k] = row[k] * scale[k] + shift[k] }
        }
    }
}
