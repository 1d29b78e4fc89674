import ChainEvaluation

extension PCASignBaseline {
    /// Codes of every video of an in-memory set.
    func encode(_ set: VideoSet) -> PackedCodes {
        set.features.withUnsafeBufferPointer { encode($0.baseAddress!, videos: set.count, frames: set.frames) }
    }
}
