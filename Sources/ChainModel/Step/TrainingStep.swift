import ChainNumerics

/// One training step on this rank's videos: views, the objectives over the global batch, and
/// the gradient of their weighted total accumulated into the model's flat gradient buffer.
///
/// The caller zeroes the gradients before, and after: all-reduces them (a sum — every loss
/// term is already normalised by its global count) and takes the optimizer step. Buffers are
/// allocated once for `maxBatch` videos and reused.
///
/// Randomness: each video's views, transforms and permutations come from its own stream
/// `videoRandom.split(videoID)` (default parent: drawn from `rng`, so each call differs);
/// with a rank-independent `videoRandom` and global video ids, what a video sees does not
/// depend on how the batch is split over ranks. Dropout draws from `rng`.
public protocol TrainingStep: AnyObject {
    var model: CHAINModel { get }
    /// When set, the step adds the time of each phase to it.
    var profile: StepProfile? { get set }
    func run(_ batch: StepBatch, rng: inout Philox, videoRandom: Philox?, exchange: BatchExchange) -> StepLosses
}

extension TrainingStep {
    /// `run` on `batch` videos of `frames` frames at `videos` [batch·frames, F], with ids
    /// 0..<batch unless given.
    @discardableResult
    public func run(
        videos: UnsafePointer<Float>, batch: Int, frames: Int, featureStd: UnsafePointer<Float>? = nil,
        augmented: AugmentedCopies? = nil, rng: inout Philox, videoRandom: Philox? = nil,
        videoIDs: [UInt64]? = nil, exchange: BatchExchange
    ) -> StepLosses {
        guard let videoIDs else {
            return run(
                StepBatch(
                    features: videos, count: batch, frames: frames, augmented: augmented,
                    featureStandardDeviation: featureStd),
                rng: &rng, videoRandom: videoRandom, exchange: exchange)
        }
        return videoIDs.withUnsafeBufferPointer { ids in
            run(
                StepBatch(
                    features: videos, count: batch, frames: frames, augmented: augmented,
                    featureStandardDeviation: featureStd, videoIDs: ids),
                rng: &rng, videoRandom: videoRandom, exchange: exchange)
        }
    }
}

/// The step that trains `model`'s mode: `CHAINStep` or `ConMHStep`.
public func makeTrainingStep(model: CHAINModel, maxBatch: Int, workers: Int = 1) -> any TrainingStep {
    switch model.config.mode {
    case .chain: CHAINStep(model: model, maxBatch: maxBatch, workers: workers)
    case .conmh: ConMHStep(model: model, maxBatch: maxBatch, workers: workers)
    }
}
