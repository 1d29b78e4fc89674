/// Which position the encoder's positional embedding is given for each frame of a view.
///
/// A view holds L ascending frames of a T-frame video. `.frame` embeds each at its index in
/// the video, so the two views of a video, covering different spans, see different sets of
/// positions. `.stretched` maps a view's span onto the whole video: frame t of a view whose
/// first and last frames are a and b is embedded at round((t − a)·(T − 1)/(b − a)) (0 when
/// a = b), so every view starts at 0 and ends at T − 1 and only the order and spacing of its
/// frames show. A sequence of all T frames is embedded at 0…T−1 under both.
public enum PositionIndex: String, Sendable, Codable, CaseIterable {
    case frame
    case stretched

    /// out[i] = the position of `frames[i]` (ascending indices into a `videoFrames`-frame
    /// video), for i < count. `frames` and `out` may be the same buffer.
    public func positions(
        of frames: UnsafePointer<Int32>, count: Int, videoFrames t: Int, into out: UnsafeMutablePointer<Int32>
    ) {
        switch self {
        case .frame:
            if UnsafePointer(out) != frames { out.update(from: frames, count: count) }
        case .stretched:
            let first = Int(frames[0]), span = Int(frames[count - 1]) - first
            for i in 0..<count {
                // round(x/span) for x ≥ 0 in integers: ⌊(2x + span) / 2span⌋.
                let x = (Int(frames[i]) - first) * (t - 1)
                out[i] = span == 0 ? 0 : Int32((2 * x + span) / (2 * span))
            }
        }
    }
}
