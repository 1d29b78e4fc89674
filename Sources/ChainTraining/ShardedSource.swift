import ChainData
import ChainDistributed
import ChainNumerics

/// In-memory training data split across ranks: rank r reads only its contiguous shard
/// [r·N/W, (r+1)·N/W) of the feature file (and of the augmented copies) once, with HDF5
/// hyperslabs. Each step, the ranks swap the videos the sampler assigned elsewhere with
/// one MPI all-to-all, so the memory of all ranks together holds the dataset once while
/// every rank still trains on exactly the videos of the global permutation.
public final class ShardedSource: BatchSource {
    public let count: Int
    public let frames: Int
    public let featureSize: Int
    public let augmentedCopies: Int
    let sampler: DistributedSampler
    let comm: Communicator
    /// This rank's shard: first video and count.
    public let shardStart: Int
    public let shardCount: Int
    /// Floats per video: plain features followed by the augmented copies.
    let stride: Int
    let shard: Tensor
    let send: Tensor, receive: Tensor
    let features: Tensor, augmented: Tensor
    private var order: [Int] = []

    /// The shard of rank r among `worldSize` ranks.
    public static func shard(rank: Int, worldSize: Int, count: Int) -> Range<Int> {
        (rank * count / worldSize)..<((rank + 1) * count / worldSize)
    }

    /// Bytes of float32 memory a rank needs for a dataset of this shape (shard and buffers).
    public static func memoryPerRank(
        count: Int, frames: Int, featureSize: Int, copies: Int, worldSize: Int, batch: Int
    ) -> Int {
        let stride = (1 + copies) * frames * featureSize
        let local = (batch + worldSize - 1) / worldSize
        return 4 * stride * ((count + worldSize - 1) / worldSize + 3 * local)
    }

    public init(
        features file: FeatureFile, augmented copies: FeatureFile?, sampler: DistributedSampler, comm: Communicator
    ) throws {
        if let copies, copies.count != file.count {
            throw DataError(
                "\(copies.path): '\(copies.key)' has \(copies.count) videos; \(file.path) has \(file.count)")
        }
        count = file.count; frames = file.frames; featureSize = file.featureSize
        augmentedCopies = copies?.copies ?? 0
        self.sampler = sampler
        self.comm = comm
        let range = Self.shard(rank: comm.rank, worldSize: comm.size, count: count)
        shardStart = range.lowerBound; shardCount = range.count
        let plain = frames * featureSize
        stride = plain * (1 + augmentedCopies)
        shard = Tensor(shape: [max(1, shardCount), stride])
        // Read the shard in chunks straight into the interleaved layout.
        let chunk = 64
        let scratch = Tensor(shape: [chunk, max(plain, augmentedCopies * plain)])
        var first = 0
        while first < shardCount {
            let n = min(chunk, shardCount - first)
            try file.read(first: shardStart + first, count: n, into: scratch.pointer)
            try file.checkFinite(scratch.pointer, videos: Array((shardStart + first)..<(shardStart + first + n)))
            for i in 0..<n {
                (shard.pointer + (first + i) * stride).update(from: scratch.pointer + i * plain, count: plain)
            }
            if let copies {
                let a = augmentedCopies * plain
                try copies.read(first: shardStart + first, count: n, into: scratch.pointer)
                try copies.checkFinite(scratch.pointer, videos: Array((shardStart + first)..<(shardStart + first + n)))
                for i in 0..<n {
                    (shard.pointer + (first + i) * stride + plain).update(from: scratch.pointer + i * a, count: a)
                }
            }
            first += n
        }
        let local = (sampler.batchSize + comm.size - 1) / comm.size
        send = Tensor(shape: [local * comm.size, stride])  // at most every video of the global batch
        receive = Tensor(shape: [local, stride])
        features = Tensor(shape: [local, plain])
        augmented = Tensor(shape: [max(1, local * augmentedCopies), plain])
    }

    func owner(_ video: Int) -> Int {
        // The shard boundaries are floor(r·N/W); find r with boundary(r) ≤ v < boundary(r+1).
        var r = min(comm.size - 1, (video * comm.size) / count)
        while r > 0 && Self.shard(rank: r, worldSize: comm.size, count: count).lowerBound > video { r -= 1 }
        while Self.shard(rank: r, worldSize: comm.size, count: count).upperBound <= video { r += 1 }
        return r
    }

    public func visitMomentSample(_ visit: (UnsafePointer<Float>) -> Void) throws -> Communicator? {
        for v in momentSample(count: count) where v >= shardStart && v < shardStart + shardCount {
            visit(shard.pointer + (v - shardStart) * stride)
        }
        return comm
    }

    public func startEpoch(order: [Int], firstStep: Int) throws { self.order = order }

    public func batch(step: Int) throws -> TrainingBatch {
        let w = comm.size, me = comm.rank
        let slices = (0..<w).map { sampler.videos(order, step: step, rank: $0) }
        // Send: to each rank d, the videos of d's slice that live in my shard, in slice order.
        var sendCounts = [Int](repeating: 0, count: w)
        var offset = 0
        for d in 0..<w {
            for v in slices[d] where v >= shardStart && v < shardStart + shardCount {
                (send.pointer + offset * stride).update(from: shard.pointer + (v - shardStart) * stride, count: stride)
                offset += 1
                sendCounts[d] += stride
            }
        }
        // Receive: from each rank s, the videos of my slice in s's shard, in slice order.
        let owners = slices[me].map(owner)
        let receiveCounts = (0..<w).map { s in owners.filter { $0 == s }.count * stride }
        comm.allToAll(
            UnsafeBufferPointer(send.buffer), sendCounts: sendCounts, into: receive.buffer, receiveCounts: receiveCounts
        )
        // Unpack into slice order.
        var blockStart = [Int](repeating: 0, count: w)
        for s in 1..<max(w, 1) where s < w { blockStart[s] = blockStart[s - 1] + receiveCounts[s - 1] / stride }
        var taken = [Int](repeating: 0, count: w)
        let plain = frames * featureSize
        for (k, s) in owners.enumerated() {
            let row = receive.pointer + (blockStart[s] + taken[s]) * stride
            taken[s] += 1
            (features.pointer + k * plain).update(from: row, count: plain)
            if augmentedCopies > 0 {
                (augmented.pointer + k * augmentedCopies * plain).update(
                    from: row + plain, count: augmentedCopies * plain)
            }
        }
        return TrainingBatch(
            videos: slices[me], features: UnsafePointer(features.pointer),
            augmented: augmentedCopies > 0 ? UnsafePointer(augmented.pointer) : nil)
    }
}
