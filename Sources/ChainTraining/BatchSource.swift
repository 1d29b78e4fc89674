import ChainData
import ChainDistributed
import ChainNumerics

/// Where a rank's training batches come from. The trainer asks, step by step, for the
/// features of the videos that the `DistributedSampler` gives this rank; a source decides how
/// they get into memory. Calls are collective: every rank calls them in the same order.
public protocol BatchSource: AnyObject {
    /// Training videos, frames per video, feature width.
    var count: Int { get }
    var frames: Int { get }
    var featureSize: Int { get }
    /// Pre-extracted augmented copies per video (0: none).
    var augmentedCopies: Int { get }

    /// Calls `visit` with the frames [T, F] of every video of this rank's part of the moment
    /// sample (`momentSample`), in sample order. Returns the communicator whose ranks visited
    /// the other parts (their sums must be all-reduced), or nil when this rank visited all.
    func visitMomentSample(_ visit: (UnsafePointer<Float>) -> Void) throws -> Communicator?
    /// Prepares the epoch whose visiting order is `order`, starting at `firstStep`.
    func startEpoch(order: [Int], firstStep: Int) throws
    /// This rank's videos at `step` of the current epoch, in the sampler's slice order.
    /// The pointers are valid until the next call.
    func batch(step: Int) throws -> TrainingBatch
}

/// This rank's videos at one step, as a `BatchSource` delivers them.
public struct TrainingBatch {
    /// Global indices of the videos, in the sampler's slice order.
    public var videos: [Int]
    /// [videos, T, F] their features.
    public var features: UnsafePointer<Float>
    /// [videos, A, T, F] their augmented copies, or nil.
    public var augmented: UnsafePointer<Float>?
}

/// The videos whose frames estimate the per-feature standard deviation: all of them up to
/// `limit`, else `limit` evenly spaced ones (the same set at every world size).
public func momentSample(count: Int, limit: Int = 4096) -> [Int] {
    count <= limit ? Array(0..<count) : (0..<limit).map { $0 * count / limit }
}

extension BatchSource {
    /// Per-feature standard deviation over the frames of the moment sample (all training
    /// videos up to 4,096).
    public func featureStandardDeviation() throws -> [Float] {
        var sum = [Double](repeating: 0, count: featureSize), squares = sum
        let comm = try visitMomentSample {
            accumulateMoments($0, rows: frames, featureSize: featureSize, sum: &sum, squares: &squares)
        }
        if let comm {
            sum.withUnsafeMutableBufferPointer { comm.allReduce($0) }
            squares.withUnsafeMutableBufferPointer { comm.allReduce($0) }
        }
        return standardDeviation(sum: sum, squares: squares, rows: momentSample(count: count).count * frames)
    }

    /// The mean and covariance of the frames of the moment sample (what the PCA input
    /// shortcut is fitted on); the same on every rank.
    public func frameMoments() throws -> FrameMoments {
        var moments = FrameMoments(featureSize: featureSize)
        let comm = try visitMomentSample { moments.add($0, rows: frames) }
        moments.flush()
        if let comm { moments.allReduce(comm) }
        return moments
    }
}

/// Per-feature standard deviation from summed moments (sums in double precision).
func standardDeviation(sum: [Double], squares: [Double], rows: Int) -> [Float] {
    let n = Double(rows)
    return zip(sum, squares).map { s, q in Float(max(q / n - (s / n) * (s / n), 0).squareRoot()) }
}

/// Adds the per-feature sums and squared sums of `rows` rows of `featureSize` floats.
func accumulateMoments(
    _ x: UnsafePointer<Float>, rows: Int, featureSize: Int, sum: inout [Double], squares: inout [Double]
) {
    for r in 0..<rows {
        let row = x + r * featureSize
        for k in 0..<featureSize { let v = Double(row[k]); sum[k] += v; squares[k] += v * v }
    }
}

/// Every rank holds the whole training set (small sets and tests): a batch is a copy.
public final class ReplicatedSource: BatchSource {
    public let videos: VideoSet
    public let augmented: [Float]?
    public let augmentedCopies: Int
    let sampler: DistributedSampler
    let rank: Int
    private var order: [Int] = []
    private let buffer: Tensor
    private let augmentedBuffer: Tensor

    public init(
        _ videos: VideoSet, augmented: (values: [Float], copies: Int)? = nil, sampler: DistributedSampler, rank: Int
    ) {
        precondition(
            augmented.map { $0.values.count == videos.count * $0.copies * videos.frames * videos.featureSize } ?? true,
            "augmented copies do not match the videos")
        self.videos = videos
        self.augmented = augmented?.values
        augmentedCopies = augmented?.copies ?? 0
        self.sampler = sampler
        self.rank = rank
        let local = (sampler.batchSize + sampler.worldSize - 1) / sampler.worldSize
        buffer = Tensor(shape: [local, videos.frames * videos.featureSize])
        augmentedBuffer = Tensor(shape: [
            augmented == nil ? 1 : local * augmentedCopies, videos.frames * videos.featureSize,
        ])
    }

    public var count: Int { videos.count }
    public var frames: Int { videos.frames }
    public var featureSize: Int { videos.featureSize }

    public func visitMomentSample(_ visit: (UnsafePointer<Float>) -> Void) throws -> Communicator? {
        videos.features.withUnsafeBufferPointer { all in
            for v in momentSample(count: count) { visit(all.baseAddress! + v * frames * featureSize) }
        }
        return nil
    }

    public func startEpoch(order: [Int], firstStep: Int) throws { self.order = order }

    public func batch(step: Int) throws -> TrainingBatch {
        let mine = sampler.videos(order, step: step, rank: rank)
        let stride = frames * featureSize
        videos.features.withUnsafeBufferPointer { all in
            for (k, v) in mine.enumerated() {
                (buffer.pointer + k * stride).update(from: all.baseAddress! + v * stride, count: stride)
            }
        }
        if let augmented {
            let a = augmentedCopies * stride
            augmented.withUnsafeBufferPointer { all in
                for (k, v) in mine.enumerated() {
                    (augmentedBuffer.pointer + k * a).update(from: all.baseAddress! + v * a, count: a)
                }
            }
        }
        return TrainingBatch(
            videos: mine, features: UnsafePointer(buffer.pointer),
            augmented: augmented == nil ? nil : UnsafePointer(augmentedBuffer.pointer))
    }
}
