/// What the frame-order head predicts for a shuffled frame.
public enum OrderTarget: String, Sendable, Codable, CaseIterable {
    /// Its rank among the view's L sampled frames (chance 1/L).
    case rank
    /// Its absolute index among the video's T frames (chance ~1/T): the paper's "absolute
    /// temporal position"; content that belongs early or late in a video tells it.
    case position
}
