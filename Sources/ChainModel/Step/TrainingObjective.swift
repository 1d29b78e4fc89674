import ChainNumerics

/// One task of a training step (contrastive, frame order, scene change, reconstruction).
///
/// An objective owns its buffers (allocated in `init`) and its weight. The step calls, for
/// every objective in turn: `forward` (the loss, and whatever its backward needs), then
/// `backward` (the weighted gradient into the views' `dCodes`/`dNormalized`), then, after the
/// views' own backward through the hash layer and the encoder, `backwardAfterViews` (for an
/// objective with an encoder pass of its own, like frame order). Adding an objective means
/// writing one of these types and listing it in a step's `objectives`.
public protocol TrainingObjective: AnyObject {
    /// The phase this objective's time is counted under in a `StepProfile`.
    var phase: String { get }
    /// Whether its gradient reaches the views' frame codes (if none does, the views skip
    /// their backward pass).
    var reachesViewCodes: Bool { get }
    /// Computes this rank's share of the loss into `losses`.
    func forward(_ step: StepContext, _ losses: inout StepLosses)
    /// Adds the weighted gradient of the loss into the views' code gradients.
    func backward(_ step: StepContext)
    /// Runs after the views' backward: passes of the objective's own.
    func backwardAfterViews(_ step: StepContext)
}

extension TrainingObjective {
    public var reachesViewCodes: Bool { true }
    public func backward(_ step: StepContext) {}
    public func backwardAfterViews(_ step: StepContext) {}
}

/// What the objectives of one step share: the batch, the view passes, each video's random
/// stream, the step's generator (dropout) and the exchange to the other ranks' videos.
/// The step owns one and rewrites it at the start of every `run`.
public final class StepContext {
    public let model: CHAINModel
    /// The views of every video (two, as passes through the encoder and the hash layer).
    public let views: [ViewPass]
    /// Threads each pass is split over (by videos).
    public let workers: Int
    public internal(set) var batch: StepBatch
    public internal(set) var exchange: BatchExchange
    /// The step's generator (dropout masks), in the order the passes draw from it.
    public var rng: Philox
    /// One stream per video of the batch, keyed by its global index: the views, their
    /// transforms and any permutation a video sees come from it.
    var streams: [Philox]

    init(model: CHAINModel, views: [ViewPass], maxBatch: Int, workers: Int) {
        self.model = model
        self.views = views
        self.workers = workers
        batch = StepBatch(features: UnsafePointer(bitPattern: 16)!, count: 0, frames: 0)
        exchange = SingleProcessExchange()
        rng = Philox(seed: 0)
        streams = [Philox](repeating: Philox(seed: 0), count: maxBatch)
    }

    /// Starts a step: video v's stream is `videoRandom.split(id_v)` (default parent: two
    /// words drawn from `rng`, so each call differs).
    func begin(_ batch: StepBatch, rng: Philox, videoRandom: Philox?, exchange: BatchExchange) {
        precondition(batch.count >= 1 && batch.count <= streams.count,
                     "batch \(batch.count) outside 1...\(streams.count)")
        self.batch = batch
        self.exchange = exchange
        self.rng = rng
        let parent = videoRandom ?? Philox(seed: self.rng.next(), stream: self.rng.next())
        for v in 0..<batch.count { streams[v] = parent.split(batch.videoIDs?[v] ?? UInt64(v)) }
    }

    /// Runs `body`, timed under `phase` when profiling.
    func timed<T>(_ phase: String, _ profile: StepProfile?, _ body: () throws -> T) rethrows -> T {
        if let profile { return try profile.measure(phase, body) }
        return try body()
    }
}
