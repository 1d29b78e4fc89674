import ChainData
import ChainDistributed
import ChainEvaluation
import Foundation

/// Near-duplicate retrieval: the training videos' pre-extracted augmented copies (each one
/// crop/flip/colour setting for a whole clip) query the clean training videos, and a copy's
/// only relevant item is its own source video. It asks whether a hash keeps what makes a
/// video *this* video, beside the class-level table. Encoded by all ranks, ranked on rank 0.
struct NearDuplicateEvaluation {
    let copies: FeatureFile, originals: FeatureFile
    let topK: [Int]

    /// nil when the dataset has no augmented copies.
    init?(dataset: DatasetConfig, topK: [Int]) throws {
        guard let augmented = dataset.train.augmented else { return nil }
        copies = try FeatureFile(
            path: dataset.path(augmented), key: dataset.train.augmentedKey ?? "feats",
            augmented: true)
        let originals = try FeatureFile(path: dataset.path(dataset.train.features), key: dataset.train.featureKey)
        self.originals = originals
        self.topK = topK.filter { $0 <= originals.count }
    }

    /// "1600 copies (2 per video) against the 800 training videos".
    var description: String {
        "\(copies.count * copies.copies) copies (\(copies.copies) per video) against the \(originals.count) "
            + "training videos; relevant = the copy's own source video"
    }

    /// The result on rank 0 (nil elsewhere). Collective.
    func evaluate(_ encoder: DistributedEncoder, comm: Communicator) throws -> RetrievalEvaluation.Result? {
        let queries = try encoder.encodeDistributed(copies)
        let database = try encoder.encodeDistributed(originals)
        guard comm.isRoot else { return nil }
        let sources = (0..<queries.count).map { $0 / copies.copies }
        return RetrievalEvaluation.evaluate(queries: queries, database: database, sources: sources, topK: topK)
    }

    /// The PCA-sign baseline (fitted on the clean training videos) on the same task; holds the
    /// copies in memory (for small sets).
    func pcaSign(_ pca: PCASignBaseline, train: VideoSet) throws -> RetrievalEvaluation.Result {
        var values = [Float](repeating: 0, count: copies.count * copies.videoStride)
        try values.withUnsafeMutableBufferPointer {
            try copies.read(first: 0, count: copies.count, into: $0.baseAddress!)
        }
        let q = values.withUnsafeBufferPointer {
            pca.encode($0.baseAddress!, videos: copies.count * copies.copies, frames: copies.frames)
        }
        let d = train.features.withUnsafeBufferPointer {
            pca.encode($0.baseAddress!, videos: train.count, frames: train.frames)
        }
        let sources = (0..<q.count).map { $0 / copies.copies }
        return RetrievalEvaluation.evaluate(queries: q, database: d, sources: sources, topK: topK)
    }
}
