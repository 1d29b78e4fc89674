import ChainDistributed
import ChainNumerics
import ChainNN

/// Data-parallel training of `FrameOrderToy`: each rank takes its slice of the global
/// batch, gradients are averaged with one all-reduce over the flat gradient buffer, and
/// every rank applies the same AdamW step (rank 0's initial parameters are broadcast first).
public struct ToyTrainer {
    public struct Options: Sendable {
        public var steps = 300
        public var globalClips = 32
        public var learningRate: Float = 3e-3
        public var warmupSteps = 20
        public var seed: UInt64 = 1
        public var toy = FrameOrderToy.Config()
        public init() {}
    }

    /// One logged point of the run.
    public struct Progress: Sendable {
        public var step: Int
        public var loss: Double
        public var accuracy: Double
        public var learningRate: Float
    }

    public let options: Options
    public let toy: FrameOrderToy
    public let optimizer: AdamW
    private let schedule: WarmupCosineSchedule

    public init(_ options: Options) {
        self.options = options
        toy = FrameOrderToy(config: options.toy, seed: options.seed)
        optimizer = AdamW(toy.store, .init(weightDecay: 0.01))
        schedule = WarmupCosineSchedule(
            peak: options.learningRate, floor: options.learningRate / 20,
            warmupSteps: options.warmupSteps, totalSteps: options.steps)
    }

    /// Trains for `options.steps` steps over `comm`; calls `report` after every step with the
    /// global mean loss and accuracy. Returns the last progress point.
    @discardableResult
    public func train(_ comm: Communicator, report: (Progress) -> Void = { _ in }) -> Progress {
        precondition(
            options.globalClips % comm.size == 0,
            "global batch \(options.globalClips) is not divisible by the world size \(comm.size)")
        let local = options.globalClips / comm.size
        let workspace = FrameOrderToy.Workspace(toy, maxClips: local)
        comm.broadcast(toy.store.values.buffer)
        var last = Progress(step: 0, loss: .nan, accuracy: 0, learningRate: 0)
        for step in 0..<options.steps {
            let global = toy.batch(step: step, clips: options.globalClips)
            let mine = toy.slice(global, first: comm.rank * local, count: local)
            toy.store.zeroGradients()
            let (loss, accuracy) = toy.lossAndGradient(mine, workspace, weight: 1 / Float(comm.size))
            comm.allReduce(toy.store.gradients.buffer)
            let lr = schedule.rate(step: step, epoch: 0)
            optimizer.update(toy.store, learningRate: lr)
            var metrics = [loss, accuracy]
            metrics.withUnsafeMutableBufferPointer { comm.allReduce($0) }
            last = Progress(
                step: step + 1, loss: metrics[0] / Double(comm.size),
                accuracy: metrics[1] / Double(comm.size), learningRate: lr)
            report(last)
        }
        return last
    }
}
