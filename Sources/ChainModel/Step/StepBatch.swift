import ChainNumerics

/// The videos of one training step on this rank, as a step reads them.
///
/// Every pointer is borrowed: valid for the call to `TrainingStep.run` only.
public struct StepBatch {
    /// Clean features, [count·frames, F], video-major.
    public var features: UnsafePointer<Float>
    /// Videos in the batch, and T, frames per video.
    public var count: Int
    public var frames: Int
    /// Pre-extracted spatially augmented copies; nil: the feature-space transform is used.
    public var augmented: AugmentedCopies?
    /// Per-feature standard deviation scaling the feature-space transform's noise (nil: 1).
    public var featureStandardDeviation: UnsafePointer<Float>?
    /// Global index of each video (keys its random stream); nil: 0..<count.
    public var videoIDs: UnsafeBufferPointer<UInt64>?

    public init(
        features: UnsafePointer<Float>, count: Int, frames: Int, augmented: AugmentedCopies? = nil,
        featureStandardDeviation: UnsafePointer<Float>? = nil, videoIDs: UnsafeBufferPointer<UInt64>? = nil
    ) {
        precondition(
            videoIDs.map { $0.count == count } ?? true, "\(videoIDs?.count ?? 0) video ids for a batch of \(count)")
        self.features = features
        self.count = count
        self.frames = frames
        self.augmented = augmented
        self.featureStandardDeviation = featureStandardDeviation
        self.videoIDs = videoIDs
    }
}

/// Pre-extracted spatially augmented copies of a batch, [count, copies, frames, F]: each copy
/// made with one crop/flip/colour setting for all of a video's frames.
public struct AugmentedCopies {
    public var features: UnsafePointer<Float>
    public var copies: Int

    public init(features: UnsafePointer<Float>, copies: Int) {
        precondition(copies >= 1, "augmented copies need at least one copy")
        self.features = features
        self.copies = copies
    }
}
