import ChainNumerics

/// CHAIN's temporal augmentation: segment sampling.
///
/// A view of a T-frame video picks a random contiguous span covering a fraction
/// f ~ U(minimumSpan, 1) of the video (at least `segments` frames), splits it into
/// `segments` equal parts and takes one uniformly random frame from each, in order. Two
/// independent draws give a video's two views. Videos shorter than `segments` frames are
/// stretched (index ⌊i·T/L⌋, repeating frames) instead.
///
/// With a `maskRatio` ρ > 0, a random round(ρ·L) of the L sampled frames are then dropped
/// (ConMH's frame masking applied to the segment-sampled view), so a view holds
/// `viewLength` = L − round(ρ·L) frames, still in order. With L = T and a full span this is
/// exactly ConMH's random mask over all frames.
public struct SegmentSampler: Sendable, Equatable, Codable {
    /// L, the frames segment sampling picks per view.
    public var segments: Int
    /// The smallest span fraction s_min.
    public var minimumSpan: Float
    /// ρ, the fraction of the L picked frames masked: dropped from the view at random (0: none).
    public var maskRatio: Float

    public init(segments: Int, minimumSpan: Float = 0.5, maskRatio: Float = 0) {
        precondition(segments >= 1, "a view needs at least one segment")
        precondition(minimumSpan > 0 && minimumSpan <= 1, "minimumSpan must be in (0, 1]")
        precondition(maskRatio >= 0 && maskRatio < 1, "maskRatio must be in [0, 1)")
        self.segments = segments
        self.minimumSpan = minimumSpan
        self.maskRatio = maskRatio
    }

    /// Frames per view the encoder sees: L − round(ρ·L), at least 1.
    public var viewLength: Int { max(1, segments - Int((maskRatio * Float(segments)).rounded())) }

    /// Ascending frame indices of one view of a `frames`-frame video (`viewLength` of them).
    public func sample(frames t: Int, rng: inout Philox) -> [Int] {
        let picked = sampleSegments(frames: t, rng: &rng), kept = viewLength
        guard kept < segments else { return picked }
        return rng.permutation(segments)[..<kept].sorted().map { picked[$0] }
    }

    /// One frame from each of the L segments of a random span.
    func sampleSegments(frames t: Int, rng: inout Philox) -> [Int] {
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
