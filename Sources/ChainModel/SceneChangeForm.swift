/// How the scene-change task is formed (docs/method.md): what affinity propagation groups,
/// which prototypes a frame is pulled to, and which it is pushed from.
public struct SceneChangeForm: Sendable, Equatable, Codable {
    /// What affinity propagation clusters into scenes.
    public enum Clustering: String, Sendable, Codable, CaseIterable {
        /// The view's frames by their detached hash activations h (they move as the model trains).
        case codes
        /// All T frames of the video by their input features, once per video and cached: scenes
        /// that do not move while the model trains, shared by both views.
        case features
    }

    /// Which prototypes are a frame's candidates (its own scene's and the negatives).
    public enum Negatives: String, Sendable, Codable, CaseIterable {
        /// Every scene of the global batch (also pushes apart same-class videos).
        case batch
        /// The other scenes of the frame's own video: the task distinguishes a video's scenes.
        case video
    }

    /// Whose prototypes a view's frames are contrasted with.
    public enum Targets: String, Sendable, Codable, CaseIterable {
        /// The prototypes formed from the same view's frames.
        case sameView = "same_view"
        /// The other view's prototypes (the two views of a video share its scenes).
        case otherView = "other_view"
    }

    public var clustering: Clustering
    public var negatives: Negatives
    public var targets: Targets

    /// The original form: codes clustered per view, all scenes of the batch, same view.
    public init(clustering: Clustering = .codes, negatives: Negatives = .batch, targets: Targets = .sameView) {
        self.clustering = clustering
        self.negatives = negatives
        self.targets = targets
    }
}
