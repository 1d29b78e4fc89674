import ChainData
import ChainDistributed
import ChainEvaluation
import ChainModel
import ChainNumerics

/// Inference: binary codes of un-augmented videos (all frames) from a model's parameters —
/// no optimizer, no training buffers. Files are encoded by all ranks together and read
/// `batchSize` videos at a time, so no rank holds a whole file.
public struct DistributedEncoder {
    public let model: CHAINModel
    let comm: Communicator
    /// Threads each encoding pass is split over.
    public let workers: Int
    /// Interleaved sequences each video is encoded as (`CHAINModel.Encoding(views:)`).
    public let views: Int
    /// What is averaged over the frames before the final sign.
    public let pooling: CodePooling

    public init(
        model: CHAINModel, comm: Communicator, workers: Int = 1, views: Int = 1, pooling: CodePooling = .codes
    ) {
        self.model = model
        self.comm = comm
        self.workers = max(1, workers)
        self.views = views
        self.pooling = pooling
    }

    /// Binary codes of every video of a feature file, encoded by all ranks together (rank r
    /// encodes the contiguous share r of the file) and gathered: every rank gets all codes.
    /// A file of augmented copies (N, A, T, F) gives N·A codes, copy a of video v at row v·A + a.
    /// Collective; a read error on any rank is thrown on every rank.
    /// `progress(done, share)` is called on every rank after each batch of its own share.
    public func encodeDistributed(
        _ file: FeatureFile, batchSize: Int = 64,
        progress: ((_ done: Int, _ share: Int) -> Void)? = nil
    ) throws -> PackedCodes {
        try encodeDistributed(file, batchSize: batchSize, keepingValues: false, progress: progress).codes
    }

    /// Like `encodeDistributed`, with the real-valued codes too: values [N·A, bits], the mean
    /// over a video's frames whose sign is its code (`CHAINModel.encode(values:)`).
    public func encodeDistributedWithValues(
        _ file: FeatureFile, batchSize: Int = 64,
        progress: ((_ done: Int, _ share: Int) -> Void)? = nil
    ) throws -> (codes: PackedCodes, values: [Float]) {
        try encodeDistributed(file, batchSize: batchSize, keepingValues: true, progress: progress)
    }

    private func encodeDistributed(
        _ file: FeatureFile, batchSize: Int, keepingValues: Bool, progress: ((Int, Int) -> Void)?
    ) throws -> (codes: PackedCodes, values: [Float]) {
        let bits = model.config.bits * file.copies  // code floats per row of the file
        let share = ShardedSource.shard(rank: comm.rank, worldSize: comm.size, count: file.count)
        var mine = [Float](repeating: 0, count: max(1, share.count * bits))
        var mineValues = [Float](repeating: 0, count: keepingValues ? max(1, share.count * bits) : 0)
        try comm.everyRank(
            {
                try mineValues.withUnsafeMutableBufferPointer { values in
                    try encode(
                        file, videos: share, batchSize: batchSize, into: &mine,
                        values: keepingValues ? values.baseAddress : nil, progress: progress)
                }
            },
            elsewhere: RemoteRankError("\(file.path): another rank could not encode its share"))
        let counts = (0..<comm.size).map {
            ShardedSource.shard(rank: $0, worldSize: comm.size, count: file.count).count * bits
        }
        func gathered(_ part: [Float]) -> [Float] {
            var all = [Float](repeating: 0, count: file.count * bits)
            part.withUnsafeBufferPointer { m in
                all.withUnsafeMutableBufferPointer {
                    comm.allGather(UnsafeBufferPointer(rebasing: m[0..<(share.count * bits)]), counts: counts, into: $0)
                }
            }
            return all
        }
        let codes = gathered(mine).withUnsafeBufferPointer {
            PackedCodes(values: $0.baseAddress!, count: file.count * file.copies, bits: model.config.bits)
        }
        return (codes, keepingValues ? gathered(mineValues) : [])
    }

    /// Codes (±1 floats) of `videos` of `file` (all their copies), `batchSize` videos at a time;
    /// and their real-valued codes into `values` (as many floats) when given.
    func encode(
        _ file: FeatureFile, videos: Range<Int>, batchSize: Int, into codes: inout [Float],
        values: UnsafeMutablePointer<Float>? = nil, progress: ((Int, Int) -> Void)? = nil
    ) throws {
        let copies = file.copies, bits = model.config.bits * copies  // code floats per row of the file
        guard !videos.isEmpty else { return }
        let encoding = CHAINModel.Encoding(
            model, maxBatch: batchSize * copies, frames: file.frames, workers: workers,
            views: min(views, file.frames), pooling: pooling)
        let buffer = Tensor(shape: [min(batchSize, videos.count), file.videoStride])
        try codes.withUnsafeMutableBufferPointer { out in
            var first = videos.lowerBound
            while first < videos.upperBound {
                let n = min(batchSize, videos.upperBound - first)
                try file.read(first: first, count: n, into: buffer.pointer)
                try file.checkFinite(buffer.pointer, videos: Array(first..<(first + n)))
                let row = (first - videos.lowerBound) * bits
                model.encode(
                    buffer.pointer, batch: n * copies, encoding, codes: out.baseAddress! + row,
                    values: values.map { $0 + row })
                first += n
                progress?(first - videos.lowerBound, videos.count)
            }
        }
    }

    /// Binary codes of every video of a feature file on this rank alone.
    public func encode(_ file: FeatureFile, batchSize: Int = 64) throws -> PackedCodes {
        var codes = [Float](repeating: 0, count: max(1, file.count * file.copies * model.config.bits))
        try encode(file, videos: 0..<file.count, batchSize: batchSize, into: &codes)
        return codes.withUnsafeBufferPointer {
            PackedCodes(values: $0.baseAddress!, count: file.count * file.copies, bits: model.config.bits)
        }
    }

    /// Binary codes of every video of `data`, encoded as `views` interleaved sequences
    /// (default: this encoder's).
    public func encode(_ data: VideoSet, batchSize: Int = 64, views: Int? = nil) -> PackedCodes {
        let bits = model.config.bits
        let encoding = CHAINModel.Encoding(
            model, maxBatch: batchSize, frames: data.frames, workers: workers,
            views: min(views ?? self.views, data.frames), pooling: pooling)
        var codes = [Float](repeating: 0, count: data.count * bits)
        let stride = data.frames * data.featureSize
        data.features.withUnsafeBufferPointer { all in
            codes.withUnsafeMutableBufferPointer { out in
                var first = 0
                while first < data.count {
                    let n = min(batchSize, data.count - first)
                    model.encode(
                        all.baseAddress! + first * stride, batch: n, encoding, codes: out.baseAddress! + first * bits)
                    first += n
                }
            }
        }
        return codes.withUnsafeBufferPointer { PackedCodes(values: $0.baseAddress!, count: data.count, bits: bits) }
    }

    /// mAP of `queries` against `database` (both need labels).
    public func evaluate(
        queries: VideoSet, database: VideoSet, topK: [Int], views: Int? = nil
    ) -> RetrievalEvaluation.Result {
        RetrievalEvaluation.evaluate(
            queries: encode(queries, views: views), database: encode(database, views: views),
            queryLabels: queries.labels!, databaseLabels: database.labels!, topK: topK)
    }
}
