import ChainData
import ChainDistributed
import ChainEvaluation
import ChainModel
import ChainNN
import ChainNumerics
import Foundation

/// Data-parallel training of a CHAIN (or ConMH-mode) model on an in-memory video set.
///
/// Every epoch draws one permutation of the training videos from (seed, epoch); global
/// batch b of it is split evenly over the ranks (rank r takes its r-th slice), and an
/// incomplete last batch is dropped. Each rank runs its `TrainingStep` on its slice (losses
/// normalised over the global batch), the flat gradient is summed with one all-reduce,
/// optionally clipped, and every rank applies the same AdamW update.
public final class Trainer {
    public struct Options: Sendable {
        public var epochs = 50
        /// Global batch in videos (divisible by the number of ranks).
        public var batchSize = 64
        public var learningRate: Float = 1e-3
        public var warmupEpochs = 2
        public var weightDecay: Float = 0.01
        public var gradientClip: Float? = 1
        /// Floats per gradient all-reduce (nil: the whole flat buffer in one call).
        public var gradientBucket: Int?
        public var seed: UInt64 = 1
        /// Compute threads of this rank: each pass is split over them by videos, and BLAS runs
        /// one thread per call (0 counts as 1; the tools resolve `training.threads: 0`).
        public var threads = 1
        /// Interleaved sequences each video is encoded as (`CHAINModel.Encoding(views:)`).
        public var encodingViews = 1
        public init() {}
    }

    public let model: CHAINModel
    public let options: Options
    let comm: Communicator
    var workers: Int { max(1, options.threads) }
    let optimizer: AdamW

    public init(config: CHAINConfig, options: Options, comm: Communicator) {
        self.options = options
        self.comm = comm
        BLAS.threads = 1   // the trainer's own workers (options.threads) are the parallelism
        model = CHAINModel(config: config, seed: options.seed)
        comm.broadcast(model.store.values.buffer)
        optimizer = AdamW(model.store, .init(weightDecay: options.weightDecay))
        optimizer.workers = max(1, options.threads)
    }

    /// One epoch's summary (global means).
    public struct EpochReport: Sendable {
        public var epoch: Int
        public var contrastive = 0.0, order = 0.0, scene = 0.0, reconstruction = 0.0, total = 0.0
        public var orderAccuracy = 0.0
        public var scenesPerVideo = 0.0
        public var seconds = 0.0
        public var learningRate: Float = 0
    }

    /// Trains for `options.epochs` epochs on an in-memory set that every rank holds.
    public func train(_ data: VideoSet, report: (EpochReport) -> Void = { _ in }) {
        let sampler: DistributedSampler
        do { sampler = try DistributedSampler(count: data.count, batchSize: options.batchSize, worldSize: comm.size, seed: options.seed) }
        catch { preconditionFailure("\(error)") }
        do { try train(ReplicatedSource(data, sampler: sampler, rank: comm.rank), sampler: sampler, report: report) }
        catch { preconditionFailure("in-memory training cannot fail to read: \(error)") }
    }

    /// What the caller learns after every optimizer step, and can answer with `.stop`.
    public struct StepEvent: Sendable {
        /// The step just taken (sampler coordinates) and the position to resume from.
        public var epoch: Int
        public var step: Int
        public var next: DistributedSampler.Position
        /// Optimizer steps taken since the start of training.
        public var globalStep: Int
        public var endsEpoch: Bool
        /// This rank's share of the step's losses (sum over ranks for the global values) and the rate used.
        public var losses = StepLosses()
        public var learningRate: Float = 0
    }

    public enum Decision: Sendable { case proceed, stop }

    /// How a call to `train` ended: all epochs done, or stopped at a resumable position.
    public enum Outcome: Sendable, Equatable {
        case completed
        case stopped(at: DistributedSampler.Position)
    }

    /// The generator of `rank` for step `step` of `epoch` (dropout masks, when no per-video
    /// stream applies). Keyed, not carried: a resumed run draws the same numbers.
    public func stepRandom(epoch: Int, step: Int, rank: Int) -> Philox {
        Philox(seed: options.seed, stream: 2).split(UInt64(epoch)).split("dropout").split(UInt64(rank)).split(UInt64(step))
    }

    /// Trains from `position` (default: the start) to the end of epoch `options.epochs`,
    /// taking this rank's batches from `source` as `sampler` assigns them. `report` gets
    /// each epoch's summary; `afterStep` runs after every optimizer step, on every rank, and
    /// may stop training there (it must decide the same on every rank). Throws only when the
    /// source cannot read or `afterStep` throws.
    @discardableResult
    public func train(_ source: BatchSource, sampler: DistributedSampler,
                      from position: DistributedSampler.Position = .init(epoch: 0, step: 0),
                      report: (EpochReport) -> Void = { _ in },
                      afterStep: (StepEvent) throws -> Decision = { _ in .proceed }) throws -> Outcome {
        let b = options.batchSize
        precondition(sampler.batchSize == b && sampler.worldSize == comm.size && sampler.count == source.count,
                     "the sampler does not match the trainer (batch \(sampler.batchSize), world \(sampler.worldSize))")
        precondition(sampler.tail == .drop, "the trainer needs full global batches (tail .drop)")
        let local = b / comm.size
        let stepsPerEpoch = sampler.stepsPerEpoch
        let schedule = WarmupCosineSchedule(peak: options.learningRate, floor: options.learningRate / 100,
                                            warmupSteps: options.warmupEpochs * stepsPerEpoch,
                                            totalSteps: options.epochs * stepsPerEpoch)
        let step = makeTrainingStep(model: model, maxBatch: local, workers: workers)
        let std = try source.featureStandardDeviation()
        var globalStep = sampler.globalStep(position)
        for epoch in position.epoch..<options.epochs {
            let start = Date()
            let order = sampler.order(epoch: epoch)
            let firstStep = epoch == position.epoch ? position.step : 0
            try source.startEpoch(order: order, firstStep: firstStep)
            let epochRandom = Philox(seed: options.seed, stream: 2).split(UInt64(epoch))
            var sums = [Double](repeating: 0, count: 8)
            var lr: Float = 0
            func summary(_ steps: Int) -> EpochReport {
                var totals = sums
                totals.withUnsafeMutableBufferPointer { comm.allReduce($0) }
                let n = Double(max(1, steps))
                return EpochReport(epoch: epoch + 1, contrastive: totals[0] / n, order: totals[1] / n, scene: totals[2] / n,
                                   reconstruction: totals[3] / n, total: totals[4] / n,
                                   orderAccuracy: totals[6] > 0 ? totals[5] / totals[6] : 0,
                                   scenesPerVideo: totals[7] / (n * Double(b) * (model.config.sceneOnBothViews ? 2 : 1)),
                                   seconds: Date().timeIntervalSince(start), learningRate: lr)
            }
            for s in firstStep..<stepsPerEpoch {
                let mine = sampler.videos(order, step: s, rank: comm.rank)
                let batch = try source.batch(step: s)
                model.store.zeroGradients()
                let copies = source.augmentedCopies > 0
                    ? AugmentedCopies(features: batch.augmented!, copies: source.augmentedCopies) : nil
                var rng = stepRandom(epoch: epoch, step: s, rank: comm.rank)
                let l = std.withUnsafeBufferPointer { sd in
                    step.run(videos: batch.features, batch: local, frames: source.frames, featureStd: sd.baseAddress!,
                             augmented: copies, rng: &rng, videoRandom: epochRandom.split(UInt64(s)),
                             videoIDs: mine.map { UInt64($0) }, exchange: comm)
                }
                allReduceGradients()
                if let clip = options.gradientClip { clipGradientNorm(model.store, maxNorm: clip) }
                lr = schedule.rate(step: globalStep, epoch: epoch)
                optimizer.update(model.store, learningRate: lr)
                globalStep += 1
                sums[0] += l.contrastive; sums[1] += l.order; sums[2] += l.scene; sums[3] += l.reconstruction
                sums[4] += l.total; sums[5] += Double(l.orderCorrect); sums[6] += Double(l.orderFrames); sums[7] += Double(l.scenes)
                let event = StepEvent(epoch: epoch, step: s, next: sampler.advance(.init(epoch: epoch, step: s)),
                                      globalStep: globalStep, endsEpoch: s == stepsPerEpoch - 1, losses: l, learningRate: lr)
                if s == stepsPerEpoch - 1 { report(summary(s + 1 - firstStep)) }
                if try afterStep(event) == .stop {
                    return event.next.epoch >= options.epochs ? .completed : .stopped(at: event.next)
                }
            }
        }
        return .completed
    }

    /// CRC-32 of the flat parameter buffer: equal values mean bit-identical models.
    public func parameterChecksum() -> UInt32 { Checkpoint.checksum([model.store.values.toArray()], "") }

    /// Sums the flat gradient buffer over the ranks, `options.gradientBucket` floats per
    /// all-reduce (all of it at once when nil).
    func allReduceGradients() {
        let g = model.store.gradients.buffer
        guard let bucket = options.gradientBucket, bucket > 0, bucket < g.count else { comm.allReduce(g); return }
        var first = 0
        while first < g.count {
            let n = min(bucket, g.count - first)
            comm.allReduce(UnsafeMutableBufferPointer(rebasing: g[first..<(first + n)]))
            first += n
        }
    }

    /// A checkpoint of the state after `event` (collective: every rank's generator state is
    /// gathered); non-nil on rank 0 only.
    public func checkpoint(after event: StepEvent, settings: [String: String], config: String? = nil) -> Checkpoint? {
        let next = event.next
        let state = stepRandom(epoch: next.epoch, step: next.step, rank: comm.rank).state
        let seeds = comm.allGather(Int(bitPattern: UInt(state.seed)))
        let streams = comm.allGather(Int(bitPattern: UInt(state.stream)))
        let positions = comm.allGather(Int(bitPattern: UInt(state.position)))
        guard comm.isRoot else { return nil }
        let states = (0..<comm.size).map { [UInt64(bitPattern: Int64(seeds[$0])), UInt64(bitPattern: Int64(streams[$0])),
                                            UInt64(bitPattern: Int64(positions[$0]))] }
        var metadata = Checkpoint.Metadata(position: next, globalStep: event.globalStep, adamStep: optimizer.step,
                                           worldSize: comm.size, seed: options.seed, randomStates: states, settings: settings,
                                           parameterCount: model.store.values.count)
        metadata.config = config
        return Checkpoint(metadata: metadata, parameters: model.store.values.toArray(),
                          firstMoment: optimizer.firstMoment.toArray(), secondMoment: optimizer.secondMoment.toArray())
    }

    /// Loads `checkpoint` (given on rank 0; ignored elsewhere) into every rank: parameters,
    /// AdamW moments and step are broadcast from rank 0. Returns the position to resume from.
    public func restore(_ checkpoint: Checkpoint?) throws -> DistributedSampler.Position {
        var header: [UInt8] = []
        if comm.isRoot {
            guard let checkpoint else { preconditionFailure("restore: rank 0 needs the checkpoint") }
            guard checkpoint.metadata.parameterCount == model.store.values.count else {
                throw DataError("the checkpoint has \(checkpoint.metadata.parameterCount) floats of parameters; this model has \(model.store.values.count) (different settings?)")
            }
            header = Array(try JSONEncoder().encode(checkpoint.metadata))
            checkpoint.parameters.withUnsafeBufferPointer { model.store.values.pointer.update(from: $0.baseAddress!, count: $0.count) }
            checkpoint.firstMoment.withUnsafeBufferPointer { optimizer.firstMoment.pointer.update(from: $0.baseAddress!, count: $0.count) }
            checkpoint.secondMoment.withUnsafeBufferPointer { optimizer.secondMoment.pointer.update(from: $0.baseAddress!, count: $0.count) }
        }
        comm.broadcast(&header)
        let metadata = try JSONDecoder().decode(Checkpoint.Metadata.self, from: Data(header))
        comm.broadcast(model.store.values.buffer)
        comm.broadcast(optimizer.firstMoment.buffer)
        comm.broadcast(optimizer.secondMoment.buffer)
        optimizer.step = metadata.adamStep
        return metadata.position
    }

    /// Binary codes of every video of a feature file, encoded by all ranks together (rank r
    /// encodes the contiguous share r of the file) and gathered: every rank gets all codes.
    /// Collective; a read error on any rank is thrown on every rank.
    /// `progress(done, share)` is called on every rank after each batch of its own share.
    public func encodeDistributed(_ file: FeatureFile, batchSize: Int = 64,
                                  progress: ((_ done: Int, _ share: Int) -> Void)? = nil) throws -> PackedCodes {
        let bits = model.config.bits
        let share = ShardedSource.shard(rank: comm.rank, worldSize: comm.size, count: file.count)
        var mine = [Float](repeating: 0, count: max(1, share.count * bits))
        try comm.everyRank({ try encode(file, videos: share, batchSize: batchSize, into: &mine, progress: progress) },
                           elsewhere: DataError("\(file.path): another rank could not encode its share"))
        let counts = (0..<comm.size).map { ShardedSource.shard(rank: $0, worldSize: comm.size, count: file.count).count * bits }
        var all = [Float](repeating: 0, count: file.count * bits)
        mine.withUnsafeBufferPointer { m in
            all.withUnsafeMutableBufferPointer { comm.allGather(UnsafeBufferPointer(rebasing: m[0..<(share.count * bits)]), counts: counts, into: $0) }
        }
        return all.withUnsafeBufferPointer { PackedCodes(values: $0.baseAddress!, count: file.count, bits: bits) }
    }

    /// Codes (±1 floats) of `videos` of `file`, `batchSize` at a time.
    func encode(_ file: FeatureFile, videos: Range<Int>, batchSize: Int, into codes: inout [Float],
                progress: ((Int, Int) -> Void)? = nil) throws {
        let bits = model.config.bits
        guard !videos.isEmpty else { return }
        let encoding = CHAINModel.Encoding(model, maxBatch: batchSize, frames: file.frames, workers: workers,
                                           views: min(options.encodingViews, file.frames))
        let buffer = Tensor(shape: [min(batchSize, videos.count), file.frames * file.featureSize])
        try codes.withUnsafeMutableBufferPointer { out in
            var first = videos.lowerBound
            while first < videos.upperBound {
                let n = min(batchSize, videos.upperBound - first)
                try file.read(first: first, count: n, into: buffer.pointer)
                try file.checkFinite(buffer.pointer, videos: Array(first..<(first + n)))
                model.encode(buffer.pointer, batch: n, encoding, codes: out.baseAddress! + (first - videos.lowerBound) * bits)
                first += n
                progress?(first - videos.lowerBound, videos.count)
            }
        }
    }

    /// Binary codes of every video of a feature file, read `batchSize` videos at a time
    /// (the file is never held in memory whole).
    public func encode(_ file: FeatureFile, batchSize: Int = 64) throws -> PackedCodes {
        var codes = [Float](repeating: 0, count: max(1, file.count * model.config.bits))
        try encode(file, videos: 0..<file.count, batchSize: batchSize, into: &codes)
        return codes.withUnsafeBufferPointer { PackedCodes(values: $0.baseAddress!, count: file.count, bits: model.config.bits) }
    }

    /// Binary codes of every video of `data` (un-augmented, all frames), encoded as `views`
    /// interleaved sequences (default: `options.encodingViews`).
    public func encode(_ data: VideoSet, batchSize: Int = 64, views: Int? = nil) -> PackedCodes {
        let bits = model.config.bits
        let encoding = CHAINModel.Encoding(model, maxBatch: batchSize, frames: data.frames, workers: workers,
                                           views: min(views ?? options.encodingViews, data.frames))
        var codes = [Float](repeating: 0, count: data.count * bits)
        let stride = data.frames * data.featureSize
        data.features.withUnsafeBufferPointer { all in
            codes.withUnsafeMutableBufferPointer { out in
                var first = 0
                while first < data.count {
                    let n = min(batchSize, data.count - first)
                    model.encode(all.baseAddress! + first * stride, batch: n, encoding, codes: out.baseAddress! + first * bits)
                    first += n
                }
            }
        }
        return codes.withUnsafeBufferPointer { PackedCodes(values: $0.baseAddress!, count: data.count, bits: bits) }
    }

    /// mAP of `queries` against `database` (both need labels).
    public func evaluate(queries: VideoSet, database: VideoSet, topK: [Int], views: Int? = nil) -> RetrievalEvaluation.Result {
        RetrievalEvaluation.evaluate(queries: encode(queries, views: views), database: encode(database, views: views),
                                     queryLabels: queries.labels!, databaseLabels: database.labels!, topK: topK)
    }
}
