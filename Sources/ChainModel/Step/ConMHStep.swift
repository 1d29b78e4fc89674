import ChainNumerics

/// The ConMH step (Wang et al., AAAI 2023): two views of L frames per video (segment
/// sampling; every frame with ConMH's defaults), M of them masked; the encoder sees the V
/// visible frames; the debiased contrastive loss on the mean of the visible frames' codes,
/// plus the reconstruction of the masked frames' features from the visible ones' codes
/// (`MaskedReconstruction` over the view's L slots).
public final class ConMHStep: TrainingStep {
    public let model: CHAINModel
    public let maxBatch: Int
    public let workers: Int
    public var profile: StepProfile?
    let context: StepContext
    let objectives: [TrainingObjective]
    let reconstruction: MaskedReconstruction
    let filling: ViewFilling
    /// L frames per view, V of them visible.
    let length: Int, visible: Int
    /// Per view, [maxBatch·L, F]: all L frames of the view (the reconstruction targets).
    let fullViews: [Tensor]

    public init(model: CHAINModel, maxBatch: Int, workers: Int = 1) {
        let c = model.config, f = c.encoder.inputSize
        precondition(c.mode == .conmh, "ConMHStep trains ConMH mode; use makeTrainingStep")
        self.model = model
        self.maxBatch = maxBatch
        self.workers = max(1, workers)
        let length = c.views.viewLength, visible = max(1, length - Int((c.conmh.maskRatio * Float(length)).rounded()))
        self.length = length
        self.visible = visible
        // The masked passes run on one thread each, as ConMH's step always has.
        let views = (0..<2).map { _ in ViewPass(model, maxBatch: maxBatch, length: visible, workers: 1) }
        context = StepContext(model: model, views: views, maxBatch: maxBatch, workers: 1)
        filling = ViewFilling(augmentation: c.augmentation, featureSize: f)
        fullViews = (0..<2).map { _ in Tensor(shape: [maxBatch * length, f]) }
        reconstruction = MaskedReconstruction(
            model, weight: c.reconstructionWeight, maxBatch: maxBatch,
            slotsPerVideo: length)
        var objectives: [TrainingObjective] = []
        if c.usesContrastive {
            objectives.append(
                ContrastiveObjective(
                    loss: c.contrastive, weight: c.contrastiveWeight, bits: c.bits,
                    maxBatch: maxBatch))
        }
        objectives.append(reconstruction)
        self.objectives = objectives
    }

    public func run(
        _ batch: StepBatch, rng: inout Philox, videoRandom: Philox?,
        exchange: BatchExchange
    ) -> StepLosses {
        context.step(
            batch, rng: &rng, videoRandom: videoRandom, exchange: exchange, objectives: objectives,
            profile: profile, fillViews: maskViews)
    }

    /// Per view and video: L frames by segment sampling (into the full view), then a random
    /// V of them shown to the encoder, in order; the other L − V slots are masked.
    func maskViews() {
        let batch = context.batch, f = model.config.encoder.inputSize, l = length, v = visible
        for (k, view) in context.views.enumerated() {
            let slots = reconstruction.slots[k], full = fullViews[k]
            for video in 0..<batch.count {
                let picked = model.config.views.sample(frames: batch.frames, rng: &context.streams[video])
                filling.fill(
                    full.pointer + video * l * f, video: video, picked: picked, batch: batch,
                    rng: &context.streams[video])
                for (i, t) in picked.enumerated() { slots.positions[video * l + i] = Int32(t) }
                let order = context.streams[video].permutation(l)
                let shown = Array(order[(l - v)...]).sorted()
                for i in 0..<l { slots.masked[video * l + i] = true; slots.sourceRow[video * l + i] = -1 }
                for (j, slot) in shown.enumerated() {
                    slots.masked[video * l + slot] = false
                    slots.sourceRow[video * l + slot] = video * v + j
                    (view.features.pointer + (video * v + j) * f).update(
                        from: full.pointer + (video * l + slot) * f,
                        count: f)
                    view.positions[video * v + j] = slots.positions[video * l + slot]
                }
            }
            slots.targets = UnsafePointer(full.pointer)
        }
    }
}
