/// How inference pools a video's frames into its code (`CHAINModel.encode`).
public enum CodePooling: String, Sendable, Codable, CaseIterable {
    /// sign(mean of the frame codes sign(h_t)): the method as described; each frame is
    /// binarised before the average.
    case codes
    /// sign(mean of the frames' h_t): the average of the values the frame codes are the
    /// signs of. It keeps how far each frame is from a bit's threshold, which voting over
    /// frame signs throws away (on shots' near-duplicates, PCA on frames goes from mAP@5
    /// 0.166 voting over frame signs to 0.181 averaging the projections first).
    case activations
}
