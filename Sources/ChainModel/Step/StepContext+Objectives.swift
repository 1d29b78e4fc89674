import ChainNumerics

extension StepContext {
    /// One step of any mode: `begin`, `fillViews` (the mode's views, timed as "views"), then
    /// `runObjectives`; the caller's `rng` continues from where the step left it.
    func step(
        _ batch: StepBatch, rng: inout Philox, videoRandom: Philox?, exchange: BatchExchange,
        objectives: [TrainingObjective], profile: StepProfile?, fillViews: () -> Void
    ) -> StepLosses {
        begin(batch, rng: rng, videoRandom: videoRandom, exchange: exchange)
        timed("views", profile, fillViews)
        let losses = runObjectives(objectives, profile: profile)
        rng = self.rng
        return losses
    }

    /// The step body every mode shares once its views are filled: forward the views, every
    /// objective's forward and backward, the views' backward, the objectives' own passes.
    func runObjectives(_ objectives: [TrainingObjective], profile: StepProfile?) -> StepLosses {
        var losses = StepLosses()
        timed("encoder forward", profile) {
            for view in views {
                view.forward(model, batch: batch.count, frames: batch.frames, rng: &rng, workers: workers)
            }
        }
        for objective in objectives { timed(objective.phase, profile) { objective.forward(self, &losses) } }
        for objective in objectives { timed(objective.phase, profile) { objective.backward(self) } }
        if objectives.contains(where: \.reachesViewCodes) {
            timed("encoder backward", profile) { for view in views { view.backward(model) } }
        }
        for objective in objectives { timed(objective.phase, profile) { objective.backwardAfterViews(self) } }
        timed("encoder backward", profile) { for view in views { view.backwardProjection(model, workers: workers) } }
        losses.total = losses.weightedTotal(model.config)
        return losses
    }
}
