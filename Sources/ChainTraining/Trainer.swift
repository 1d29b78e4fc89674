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
/// incomplete last batch is dropped. Each rank runs `CHAINTrainingStep` on its slice (losses
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
        public var seed: UInt64 = 1
        public init() {}
    }

    public let model: CHAINModel
    public let options: Options
    let comm: Communicator
    let optimizer: AdamW

    public init(config: CHAINConfig, options: Options, comm: Communicator) {
        self.options = options
        self.comm = comm
        model = CHAINModel(config: config, seed: options.seed)
        comm.broadcast(model.store.values.buffer)
        optimizer = AdamW(model.store, .init(weightDecay: options.weightDecay))
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

    /// Trains for `options.epochs` epochs; `report` gets each epoch's summary (on every rank).
    public func train(_ data: VideoSet, report: (EpochReport) -> Void = { _ in }) {
        let b = options.batchSize
        precondition(b % comm.size == 0, "batch \(b) is not divisible by the world size \(comm.size)")
        precondition(data.count >= b, "\(data.count) videos cannot fill a batch of \(b)")
        let local = b / comm.size
        let stepsPerEpoch = data.count / b
        let schedule = WarmupCosineSchedule(peak: options.learningRate, floor: options.learningRate / 100,
                                            warmupSteps: options.warmupEpochs * stepsPerEpoch,
                                            totalSteps: options.epochs * stepsPerEpoch)
        let step = CHAINTrainingStep(model: model, maxBatch: local)
        let std = data.featureStandardDeviation()
        let stride = data.frames * data.featureSize
        var batch = [Float](repeating: 0, count: local * stride)
        var globalStep = 0
        for epoch in 0..<options.epochs {
            let start = Date()
            var shuffle = Philox(seed: options.seed, stream: 1).split(UInt64(epoch))
            let order = shuffle.permutation(data.count)
            let epochRandom = Philox(seed: options.seed, stream: 2).split(UInt64(epoch))
            var rng = epochRandom.split("dropout").split(UInt64(comm.rank))
            var sums = [Double](repeating: 0, count: 8)
            var lr: Float = 0
            for s in 0..<stepsPerEpoch {
                let mine = order[(s * b + comm.rank * local)..<(s * b + (comm.rank + 1) * local)]
                data.features.withUnsafeBufferPointer { all in
                    for (k, video) in mine.enumerated() {
                        for i in 0..<stride { batch[k * stride + i] = all[video * stride + i] }
                    }
                }
                model.store.zeroGradients()
                let l = batch.withUnsafeBufferPointer { x in
                    std.withUnsafeBufferPointer { sd in
                        step.run(videos: x.baseAddress!, batch: local, frames: data.frames, featureStd: sd.baseAddress!,
                                 rng: &rng, videoRandom: epochRandom.split(UInt64(s)), videoIDs: mine.map { UInt64($0) },
                                 exchange: comm)
                    }
                }
                comm.allReduce(model.store.gradients.buffer)
                if let clip = options.gradientClip { clipGradientNorm(model.store, maxNorm: clip) }
                lr = schedule.rate(step: globalStep, epoch: epoch)
                optimizer.update(model.store, learningRate: lr)
                globalStep += 1
                sums[0] += l.contrastive; sums[1] += l.order; sums[2] += l.scene; sums[3] += l.reconstruction
                sums[4] += l.total; sums[5] += Double(l.orderCorrect); sums[6] += Double(l.orderFrames); sums[7] += Double(l.scenes)
            }
            sums.withUnsafeMutableBufferPointer { comm.allReduce($0) }
            let n = Double(stepsPerEpoch)
            report(EpochReport(epoch: epoch + 1, contrastive: sums[0] / n, order: sums[1] / n, scene: sums[2] / n,
                               reconstruction: sums[3] / n, total: sums[4] / n,
                               orderAccuracy: sums[6] > 0 ? sums[5] / sums[6] : 0,
                               scenesPerVideo: sums[7] / (n * Double(b) * (model.config.sceneOnBothViews ? 2 : 1)),
                               seconds: Date().timeIntervalSince(start), learningRate: lr))
        }
    }

    /// Binary codes of every video of `data` (un-augmented, all frames).
    public func encode(_ data: VideoSet, batchSize: Int = 64) -> PackedCodes {
        let bits = model.config.bits
        let encoding = CHAINModel.Encoding(model, maxBatch: batchSize, frames: data.frames)
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
    public func evaluate(queries: VideoSet, database: VideoSet, topK: [Int]) -> RetrievalEvaluation.Result {
        RetrievalEvaluation.evaluate(queries: encode(queries), database: encode(database), queryLabels: queries.labels!,
                                     databaseLabels: database.labels!, topK: topK)
    }
}
