import ChainNumerics

/// Copies the frames a view picked into its input rows, with the view's spatial
/// augmentation: from one random pre-extracted copy for all of its frames when the batch has
/// copies, else from the clean features followed by the feature-space transform (one setting
/// for the whole view either way: temporally consistent).
struct ViewFilling {
    let augmentation: FeatureAugmentation
    let featureSize: Int

    /// out: [picked.count, F] for video `v` of `batch`; draws from the video's stream `rng`.
    func fill(_ out: UnsafeMutablePointer<Float>, video v: Int, picked: [Int], batch: StepBatch, rng: inout Philox) {
        let f = featureSize, frames = batch.frames
        let source: UnsafePointer<Float>
        if let augmented = batch.augmented {
            let copy = rng.nextInt(below: augmented.copies)
            source = augmented.features + (v * augmented.copies + copy) * frames * f
        } else {
            source = batch.features + v * frames * f
        }
        for (i, t) in picked.enumerated() { (out + i * f).update(from: source + t * f, count: f) }
        if batch.augmented == nil {
            augmentation.apply(
                out, frames: picked.count, featureSize: f, featureStd: batch.featureStandardDeviation,
                rng: &rng)
        }
    }
}
