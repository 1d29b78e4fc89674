/// The losses of one training step on one rank: each term is this rank's share of the
/// global mean (their sum over ranks is the global value), with the counts behind the
/// frame-order accuracy and the scenes found. `total` is the weighted sum of the terms.
public struct StepLosses: Sendable, Equatable {
    public var contrastive = 0.0
    public var order = 0.0
    public var scene = 0.0
    /// The masked-frame reconstruction MSE (ConMH mode, or chain mode with γ > 0).
    public var reconstruction = 0.0
    public var total = 0.0
    /// Frames whose position the order head got right, and frames asked.
    public var orderCorrect = 0
    public var orderFrames = 0
    /// Scenes found in this rank's videos (all scene-regularised views), and videos for which
    /// affinity propagation found none.
    public var scenes = 0
    public var videosWithoutScenes = 0

    public init() {}

    /// The weighted total of the terms, Σ weight · term (the objective the step minimises).
    public func weightedTotal(_ weights: CHAINConfig) -> Double {
        Double(weights.contrastiveWeight) * contrastive + Double(weights.orderWeight) * order
            + Double(weights.sceneWeight) * scene + Double(weights.reconstructionWeight) * reconstruction
    }

    /// Field-wise sum (over steps, or over ranks).
    public static func + (a: StepLosses, b: StepLosses) -> StepLosses {
        var s = a
        s += b
        return s
    }

    public static func += (a: inout StepLosses, b: StepLosses) {
        a.contrastive += b.contrastive
        a.order += b.order
        a.scene += b.scene
        a.reconstruction += b.reconstruction
        a.total += b.total
        a.orderCorrect += b.orderCorrect
        a.orderFrames += b.orderFrames
        a.scenes += b.scenes
        a.videosWithoutScenes += b.videosWithoutScenes
    }

    /// Frame-order accuracy over the frames asked (0 when none were).
    public var orderAccuracy: Double { orderFrames > 0 ? Double(orderCorrect) / Double(orderFrames) : 0 }
}
