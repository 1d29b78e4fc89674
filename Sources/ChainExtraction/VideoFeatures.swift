/// What extraction produced for one row: the clean features (T × F), the augmented copies
/// (A × T × F) and what the decoder found; or, for a video that could not be used, why.
public struct VideoFeatures: Sendable, Equatable {
    /// The source file as it was when extracted (a changed file is extracted again on resume).
    public struct Source: Sendable, Equatable {
        public var bytes: Int64
        public var modified: Double
    }

    public var row: Int
    public var source: Source
    /// nil when the video was usable; else the reason it was not.
    public var failure: String?
    public var decodedFrames: Int64
    public var durationSeconds: Double
    public var frames: Int
    public var featureSize: Int
    public var copies: Int
    /// (1 + copies) × frames × featureSize: the clean clip, then each copy.
    public var values: [Float]

    public var isUsable: Bool { failure == nil }

    /// A row for a video that could not be used.
    public static func unusable(row: Int, source: Source, reason: String) -> VideoFeatures {
        VideoFeatures(
            row: row, source: source, failure: reason, decodedFrames: 0, durationSeconds: 0, frames: 0,
            featureSize: 0, copies: 0, values: [])
    }
}
