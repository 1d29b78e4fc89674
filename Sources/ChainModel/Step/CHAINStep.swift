import ChainNumerics

/// The CHAIN step: two segment-sampled views per video, each with one spatial transform for
/// all its frames, then the contrastive, scene-change, reconstruction (γ > 0) and
/// frame-order objectives — those whose weight is positive.
public final class CHAINStep: TrainingStep {
    public let model: CHAINModel
    public let maxBatch: Int
    /// Threads each pass is split over (by videos; BLAS should then run one thread per call).
    public let workers: Int
    public var profile: StepProfile?
    let context: StepContext
    let objectives: [TrainingObjective]
    let filling: ViewFilling
    let scene: SceneChangeObjective?

    public init(model: CHAINModel, maxBatch: Int, workers: Int = 1) {
        let c = model.config, l = c.views.viewLength, workers = max(1, workers)
        precondition(c.mode == .chain, "CHAINStep trains chain mode; use makeTrainingStep")
        self.model = model
        self.maxBatch = maxBatch
        self.workers = workers
        let views = [
            ViewPass(
                model, maxBatch: maxBatch, length: l, workers: workers,
                keepsProjection: c.usesOrder || c.usesReversedNegatives),
            ViewPass(model, maxBatch: maxBatch, length: l, workers: workers),
        ]
        context = StepContext(model: model, views: views, maxBatch: maxBatch, workers: workers)
        filling = ViewFilling(augmentation: c.augmentation, featureSize: c.encoder.inputSize)
        scene =
            c.usesScene
            ? SceneChangeObjective(
                loss: c.scene, segmentation: c.scenes, form: c.sceneForm, weight: c.sceneWeight,
                bothViews: c.sceneOnBothViews, bits: c.bits) : nil
        var objectives: [TrainingObjective] = []
        if c.usesContrastive {
            objectives.append(
                ContrastiveObjective(
                    loss: c.contrastive, weight: c.contrastiveWeight, bits: c.bits,
                    maxBatch: maxBatch,
                    reversed: c.usesReversedNegatives
                        ? ReversedViewPass(model, maxBatch: maxBatch, length: l, workers: workers) : nil))
        }
        if let scene { objectives.append(scene) }
        if c.usesReconstruction {
            objectives.append(
                MaskedReconstruction(
                    model, weight: c.reconstructionWeight, maxBatch: maxBatch,
                    slotsPerVideo: nil))
        }
        if c.usesOrder {
            objectives.append(
                FrameOrderObjective(
                    model, weight: c.orderWeight, target: c.orderTarget, shuffled: c.orderShuffled, length: l,
                    maxBatch: maxBatch, workers: workers))
        }
        self.objectives = objectives
    }

    /// Keeps each view's scenes and prototypes from the next step on (prototypes carry no
    /// gradient: a finite-difference test of the objective must hold them fixed).
    public func freezeScenes() { scene?.frozenScenes = [:] }

    /// Replaces affinity propagation for view i (tests freeze the segmentation with it).
    public var sceneOverride: ((_ view: Int) -> SceneSegmentation.Scenes)? {
        get { scene?.override }
        set { scene?.override = newValue }
    }

    public func run(
        _ batch: StepBatch, rng: inout Philox, videoRandom: Philox?,
        exchange: BatchExchange
    ) -> StepLosses {
        precondition(
            batch.frames <= model.config.encoder.maxPositions,
            "videos of \(batch.frames) frames exceed maxPositions \(model.config.encoder.maxPositions)")
        return context.step(
            batch, rng: &rng, videoRandom: videoRandom, exchange: exchange, objectives: objectives,
            profile: profile, fillViews: sampleViews)
    }

    /// Segment sampling and the spatial transform for both views of every video. Each video
    /// draws from its own stream (view 0, then view 1), so the videos are split over the
    /// workers without changing any draw.
    func sampleViews() {
        let batch = context.batch, views = context.views, sampler = model.config.views,
            f = model.config.encoder.inputSize
        let l = sampler.viewLength, parts = min(workers, batch.count)
        views[0].positions.withUnsafeMutableBufferPointer { first in
            views[1].positions.withUnsafeMutableBufferPointer { second in
                context.streams.withUnsafeMutableBufferPointer { streams in
                    let positions = [first.baseAddress!, second.baseAddress!]
                    Parallel.forEach(parts) { w in
                        for v in Parallel.share(w, of: parts, total: batch.count) {
                            for (index, view) in views.enumerated() {
                                let picked = sampler.sample(frames: batch.frames, rng: &streams[v])
                                filling.fill(
                                    view.features.pointer + v * l * f, video: v, picked: picked, batch: batch,
                                    rng: &streams[v])
                                for (i, t) in picked.enumerated() { positions[index][v * l + i] = Int32(t) }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The input features of view 0 or 1 from the last run (first `rows` floats).
    public func viewFeatures(view: Int, rows: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: context.views[view].features.pointer, count: rows))
    }

    /// View 0 or 1's rows from the last run: each one's frame index in its video, and the
    /// position the encoder embedded it at (`PositionIndex`), [batch·L] each.
    public func viewPositions(view: Int) -> (frames: [Int32], embedded: [Int32]) {
        let v = context.views[view], rows = context.batch.count * v.length
        return (Array(v.positions[..<rows]), Array(v.encoderPositions[..<rows]))
    }

    /// The hash layer's activations h of view 0 or 1 from the last run, [batch·L, bits]
    /// (what scene segmentation clusters).
    public func hashActivations(view: Int) -> UnsafePointer<Float> {
        UnsafePointer(context.views[view].hash.normalized.pointer)
    }
}
