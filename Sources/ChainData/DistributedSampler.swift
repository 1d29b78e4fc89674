import ChainNumerics

/// Which videos each rank trains on at each step.
///
/// Epoch e visits the videos in one permutation drawn from (seed, e) alone. Global batch s
/// is positions [s·B, (s+1)·B) of it, and rank r takes the r-th of W equal slices of that
/// batch. So the *global* batch at (epoch, step) never depends on the world size: N ranks
/// train exactly like one process, and a run resumed at another world size sees the same
/// batches. The tail (N mod B videos) is handled by `Tail`: dropped (every step a full batch;
/// different videos are dropped each epoch) or kept as a smaller last batch, split over the
/// ranks as evenly as possible (slices differ by at most one video).
public struct DistributedSampler: Sendable, Equatable {
    /// What happens to the N mod B videos that do not fill a batch.
    public enum Tail: String, Sendable, Codable {
        case drop
        case partial
    }

    /// A point in training: the next step to run is `step` of `epoch` (both from 0).
    public struct Position: Sendable, Equatable, Codable, CustomStringConvertible {
        public var epoch: Int
        public var step: Int
        public init(epoch: Int, step: Int) { self.epoch = epoch; self.step = step }
        public var description: String { "epoch \(epoch), step \(step)" }
    }

    public let count: Int
    public let batchSize: Int
    public let worldSize: Int
    public let seed: UInt64
    public let tail: Tail

    public init(count: Int, batchSize: Int, worldSize: Int, seed: UInt64, tail: Tail = .drop) throws {
        guard worldSize >= 1 else { throw DataError("world size must be at least 1 (got \(worldSize))") }
        guard batchSize >= 1 else { throw DataError("batch size must be at least 1 (got \(batchSize))") }
        guard batchSize % worldSize == 0 else {
            throw DataError("the global batch \(batchSize) is not divisible by the world size \(worldSize)")
        }
        guard count >= worldSize else {
            throw DataError("\(count) training videos for \(worldSize) ranks: every rank needs at least one video")
        }
        guard count >= batchSize || tail == .partial else {
            throw DataError("\(count) training videos cannot fill one global batch of \(batchSize)")
        }
        self.count = count; self.batchSize = batchSize; self.worldSize = worldSize; self.seed = seed; self.tail = tail
    }

    /// Steps per epoch.
    public var stepsPerEpoch: Int { count / batchSize + (tail == .partial && count % batchSize > 0 ? 1 : 0) }

    /// The epoch's visiting order (the same on every rank and at every world size).
    public func order(epoch: Int) -> [Int] {
        var g = Philox(seed: seed, stream: 1).split(UInt64(epoch))
        return g.permutation(count)
    }

    /// The global batch of a step: positions into `order(epoch:)`.
    public func globalRange(step: Int) -> Range<Int> {
        precondition(step >= 0 && step < stepsPerEpoch, "step \(step) outside 0..<\(stepsPerEpoch)")
        return (step * batchSize)..<min((step + 1) * batchSize, count)
    }

    /// The slice of global batch `step` that `rank` trains on: positions into the order.
    public func localRange(step: Int, rank: Int) -> Range<Int> {
        let global = globalRange(step: step)
        let n = global.count
        return (global.lowerBound + rank * n / worldSize)..<(global.lowerBound + (rank + 1) * n / worldSize)
    }

    /// The videos `rank` trains on at (epoch, step), given that epoch's order.
    public func videos(_ order: [Int], step: Int, rank: Int) -> [Int] {
        Array(order[localRange(step: step, rank: rank)])
    }

    /// The position after `position` (rolling over into the next epoch).
    public func advance(_ position: Position) -> Position {
        position.step + 1 < stepsPerEpoch
            ? Position(epoch: position.epoch, step: position.step + 1)
            : Position(epoch: position.epoch + 1, step: 0)
    }

    /// Steps taken before `position` since the start of training.
    public func globalStep(_ position: Position) -> Int { position.epoch * stepsPerEpoch + position.step }
}
