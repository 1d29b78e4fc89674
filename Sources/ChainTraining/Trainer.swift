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
        /// What inference averages over the frames (`CodePooling`).
        public var encodingPooling = CodePooling.codes
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
        BLAS.threads = 1  // the trainer's own workers (options.threads) are the parallelism
        model = CHAINModel(config: config, seed: options.seed)
        comm.broadcast(model.store.values.buffer)
        optimizer = AdamW(model.store, .init(weightDecay: options.weightDecay))
        optimizer.workers = max(1, options.threads)
    }

    /// One epoch's summary (global means per step).
    public struct EpochReport: Sendable {
        public var epoch: Int
        public var contrastive = 0.0, order = 0.0, scene = 0.0, reconstruction = 0.0, total = 0.0
        public var orderAccuracy = 0.0
        /// Scenes per scene-regularised view of a video.
        public var scenesPerVideo = 0.0
        public var seconds = 0.0
        public var learningRate: Float = 0

        /// From the global sums of an epoch's `steps` steps; `videosPerStep`: the
        /// scene-regularised views of one global batch.
        init(epoch: Int, sums: StepLosses, steps: Int, videosPerStep: Int, seconds: Double, learningRate: Float) {
            let n = Double(max(1, steps))
            self.epoch = epoch
            contrastive = sums.contrastive / n
            order = sums.order / n
            scene = sums.scene / n
            reconstruction = sums.reconstruction / n
            total = sums.total / n
            orderAccuracy = sums.orderAccuracy
            scenesPerVideo = Double(sums.scenes) / (n * Double(videosPerStep))
            self.seconds = seconds
            self.learningRate = learningRate
        }
    }

    /// Trains for `options.epochs` epochs on an in-memory set that every rank holds.
    /// `augmented`: the videos' pre-extracted copies, [count, copies, frames, F].
    public func train(
        _ data: VideoSet, augmented: (values: [Float], copies: Int)? = nil,
        report: (EpochReport) -> Void = { _ in }
    ) {
        let sampler: DistributedSampler
        do {
            sampler = try DistributedSampler(
                count: data.count, batchSize: options.batchSize, worldSize: comm.size, seed: options.seed)
        } catch { preconditionFailure("\(error)") }
        do {
            let source = ReplicatedSource(data, augmented: augmented, sampler: sampler, rank: comm.rank)
            try train(source, sampler: sampler, report: report)
        } catch { preconditionFailure("in-memory training cannot fail to read: \(error)") }
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
        Philox(seed: options.seed, stream: 2).split(UInt64(epoch)).split("dropout").split(UInt64(rank)).split(
            UInt64(step))
    }

    /// Trains from `position` (default: the start) to the end of epoch `options.epochs`,
    /// taking this rank's batches from `source` as `sampler` assigns them. `report` gets
    /// each epoch's summary; `afterStep` runs after every optimizer step, on every rank, and
    /// may stop training there (it must decide the same on every rank). Throws only when the
    /// source cannot read or `afterStep` throws.
    @discardableResult
    public func train(
        _ source: BatchSource, sampler: DistributedSampler,
        from position: DistributedSampler.Position = .init(epoch: 0, step: 0),
        report: (EpochReport) -> Void = { _ in },
        afterStep: (StepEvent) throws -> Decision = { _ in .proceed }
    ) throws -> Outcome {
        let b = options.batchSize
        precondition(
            sampler.batchSize == b && sampler.worldSize == comm.size && sampler.count == source.count,
            "the sampler does not match the trainer (batch \(sampler.batchSize), world \(sampler.worldSize))")
        precondition(sampler.tail == .drop, "the trainer needs full global batches (tail .drop)")
        let local = b / comm.size
        let stepsPerEpoch = sampler.stepsPerEpoch
        let schedule = WarmupCosineSchedule(
            peak: options.learningRate, floor: options.learningRate / 100,
            warmupSteps: options.warmupEpochs * stepsPerEpoch,
            totalSteps: options.epochs * stepsPerEpoch)
        let step = makeTrainingStep(model: model, maxBatch: local, workers: workers)
        let std = try source.featureStandardDeviation()
        if position == .init(epoch: 0, step: 0) { try fitInputShortcut(source) }
        var globalStep = sampler.globalStep(position)
        for epoch in position.epoch..<options.epochs {
            let start = ContinuousClock.now
            let order = sampler.order(epoch: epoch)
            let firstStep = epoch == position.epoch ? position.step : 0
            try source.startEpoch(order: order, firstStep: firstStep)
            let epochRandom = Philox(seed: options.seed, stream: 2).split(UInt64(epoch))
            var sums = StepLosses()
            var lr: Float = 0
            for s in firstStep..<stepsPerEpoch {
                let batch = try source.batch(step: s)
                model.store.zeroGradients()
                let copies = batch.augmented.map { AugmentedCopies(features: $0, copies: source.augmentedCopies) }
                var rng = stepRandom(epoch: epoch, step: s, rank: comm.rank)
                let ids = batch.videos.map { UInt64($0) }
                let l = std.withUnsafeBufferPointer { sd in
                    ids.withUnsafeBufferPointer {
                        step.run(
                            StepBatch(
                                features: batch.features, count: local, frames: source.frames, augmented: copies,
                                featureStandardDeviation: sd.baseAddress!, videoIDs: $0),
                            rng: &rng, videoRandom: epochRandom.split(UInt64(s)), exchange: comm)
                    }
                }
                allReduceGradients()
                if let clip = options.gradientClip { clipGradientNorm(model.store, maxNorm: clip) }
                lr = schedule.rate(step: globalStep, epoch: epoch)
                optimizer.update(model.store, learningRate: lr)
                globalStep += 1
                sums += l
                let event = StepEvent(
                    epoch: epoch, step: s, next: sampler.advance(.init(epoch: epoch, step: s)),
                    globalStep: globalStep, endsEpoch: s == stepsPerEpoch - 1, losses: l, learningRate: lr)
                if s == stepsPerEpoch - 1 {
                    report(
                        EpochReport(
                            epoch: epoch + 1, sums: sums.allReduced(comm), steps: s + 1 - firstStep,
                            videosPerStep: b * (model.config.sceneOnBothViews ? 2 : 1),
                            seconds: (ContinuousClock.now - start).seconds, learningRate: lr))
                }
                if try afterStep(event) == .stop {
                    return event.next.epoch >= options.epochs ? .completed : .stopped(at: event.next)
                }
            }
        }
        return .completed
    }

    /// A fresh model's PCA input shortcut, from the moment sample of `source` (collective):
    /// the root fits it and broadcasts the parameters, so every replica starts equal.
    func fitInputShortcut(_ source: BatchSource) throws {
        guard model.hash.shortcut != nil else { return }
        let moments = try source.frameMoments()
        if comm.isRoot { model.fitInputShortcut(moments) }
        comm.broadcast(model.store.values.buffer)
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

    /// The inference encoder of this trainer's model (every rank; distributed encoding is collective).
    public var encoder: DistributedEncoder {
        DistributedEncoder(
            model: model, comm: comm, workers: workers, views: options.encodingViews, pooling: options.encodingPooling)
    }
}
