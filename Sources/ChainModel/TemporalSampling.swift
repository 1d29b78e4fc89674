import ChainNumerics

/// CHAIN's temporal augmentation: segment sampling.
///
/// A view of a T-frame video picks a random contiguous span covering a fraction
/// f ~ U(minimumSpan, 1) of the video (at least `segments` frames), splits it into
/// `segments` equal parts and takes one uniformly random frame from each, in order. Two
/// independent draws give a video's two views. Videos shorter than `segments` frames are
/// stretched (index ⌊i·T/L⌋, repeating frames) instead.
public struct SegmentSampler: Sendable, Equatable, Codable {
    /// L, the frames per view.
    public var segments: Int
    /// The smallest span fraction s_min.
    public var minimumSpan: Float

    public init(segments: Int, minimumSpan: Float = 0.5) {
        precondition(segments >= 1, "a view needs at least one segment")
        precondition(minimumSpan > 0 && minimumSpan <= 1, "minimumSpan must be in (0, 1]")
        self.segments = segments
        self.minimumSpan = minimumSpan
    }

    /// Ascending frame indices of one view of a `frames`-frame video.
    public func sample(frames t: Int, rng: inout Philox) -> [Int] {
        let l = segments
        guard t >= l else { return (0..<l).map { $0 * t / l } }
        let fraction = rng.nextUniform(minimumSpan, 1)
        let length = min(t, max(l, Int((fraction * Float(t)).rounded())))
        let start = rng.nextInt(below: t - length + 1)
        return (0..<l).map { i in
            let lower = start + i * length / l, upper = start + (i + 1) * length / l
            return lower + rng.nextInt(below: upper - lower)
        }
    }
}
