import ChainNumerics

/// What the objectives of one step share: the batch, the view passes, each video's random
/// stream, the step's generator (dropout) and the exchange to the other ranks' videos.
/// The step owns one and rewrites it at the start of every `run`.
public final class StepContext {
    public let model: CHAINModel
    /// The views of every video (two, as passes through the encoder and the hash layer).
    public let views: [ViewPass]
    /// Threads each pass is split over (by videos).
    public let workers: Int
    /// The batch of the step in progress.
    public var batch: StepBatch {
        guard let current else { preconditionFailure("StepContext.batch read outside a step") }
        return current
    }
    private var current: StepBatch?
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
        exchange = SingleProcessExchange()
        rng = Philox(seed: 0)
        streams = [Philox](repeating: Philox(seed: 0), count: maxBatch)
    }

    /// Starts a step: video v's stream is `videoRandom.split(id_v)` (default parent: two
    /// words drawn from `rng`, so each call differs).
    func begin(_ batch: StepBatch, rng: Philox, videoRandom: Philox?, exchange: BatchExchange) {
        precondition(
            batch.count >= 1 && batch.count <= streams.count,
            "batch \(batch.count) outside 1...\(streams.count)")
        current = batch
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
