import ChainData
import ChainDistributed
import ChainNumerics

/// Training data streamed from disk, for sets larger than memory: each epoch, a background
/// thread reads this rank's batches (only its own videos, hyperslab reads) one step ahead of
/// training, double-buffered. Memory is four batches, whatever the dataset size.
public final class StreamingSource: BatchSource {
    public let file: FeatureFile
    public let copies: FeatureFile?
    let sampler: DistributedSampler
    let comm: Communicator
    private var plain: FeaturePrefetcher?
    private var augmentedStream: FeaturePrefetcher?
    private var nextStep = 0
    /// This epoch's batches from `firstStep` on (global video indices).
    private var batches: [[Int]] = []
    private var firstStep = 0

    public init(
        features file: FeatureFile, augmented copies: FeatureFile?, sampler: DistributedSampler, comm: Communicator
    ) throws {
        if let copies, copies.count != file.count {
            throw DataError(
                "\(copies.path): '\(copies.key)' has \(copies.count) videos; \(file.path) has \(file.count)")
        }
        self.file = file; self.copies = copies; self.sampler = sampler; self.comm = comm
    }

    public var count: Int { file.count }
    public var frames: Int { file.frames }
    public var featureSize: Int { file.featureSize }
    public var augmentedCopies: Int { copies?.copies ?? 0 }

    /// Reads this rank's part of the moment sample (at most 4,096 videos in all, evenly
    /// spaced), one video at a time.
    public func visitMomentSample(_ visit: (UnsafePointer<Float>) -> Void) throws -> Communicator? {
        let range = ShardedSource.shard(rank: comm.rank, worldSize: comm.size, count: count)
        let sample = momentSample(count: count).filter { range.contains($0) }
        let buffer = Tensor(shape: [1, frames * featureSize])
        try comm.everyRank(
            {
                for v in sample {
                    try file.read(first: v, count: 1, into: buffer.pointer)
                    visit(buffer.pointer)
                }
            }, elsewhere: RemoteRankError("\(file.path): another rank could not read"))
        return comm
    }

    public func startEpoch(order: [Int], firstStep: Int) throws {
        plain = nil; augmentedStream = nil  // stops the previous epoch's readers
        batches = (firstStep..<sampler.stepsPerEpoch).map { sampler.videos(order, step: $0, rank: comm.rank) }
        self.firstStep = firstStep
        plain = FeaturePrefetcher(file: file, batches: batches)
        if let copies { augmentedStream = FeaturePrefetcher(file: copies, batches: batches) }
        nextStep = firstStep
    }

    public func batch(step: Int) throws -> TrainingBatch {
        precondition(step == nextStep, "streaming source: step \(step) requested, \(nextStep) is next")
        guard let plain else { preconditionFailure("streaming source: startEpoch was not called") }
        nextStep += 1
        let x = try plain.next().features
        let a = try augmentedStream?.next().features
        return TrainingBatch(videos: batches[step - firstStep], features: x, augmented: a)
    }
}
