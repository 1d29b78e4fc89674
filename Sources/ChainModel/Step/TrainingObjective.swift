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
