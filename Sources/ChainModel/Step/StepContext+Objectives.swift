import ChainNumerics

extension StepContext {
    /// The step body every mode shares once its views are filled: forward the views, every
    /// objective's forward and backward, the views' backward, the objectives' own passes.
    func runObjectives(_ objectives: [TrainingObjective], profile: StepProfile?) -> StepLosses {
        var losses = StepLosses()
        timed("encoder forward", profile) {
            for view in views { view.forward(model, batch: batch.count, rng: &rng, workers: workers) }
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
