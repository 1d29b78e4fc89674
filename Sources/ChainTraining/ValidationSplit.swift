import ChainData
import ChainEvaluation
import ChainNumerics

/// Model selection without the test split: `held` training videos (a fixed random choice,
/// the same for every run) become queries against the other training videos, which are also
/// what trains. Held in memory.
struct ValidationSplit {
    /// Every training video, the training part and the held-out queries.
    let full: VideoSet, train: VideoSet, queries: VideoSet
    let heldIndices: [Int]
    /// The training part's augmented copies, [train.count, copies, T, F], when asked for and present.
    let copies: (values: [Float], copies: Int)?
    /// The held-out videos' copies as videos ([held · copies, T, F], copy a of held video h at
    /// row h · copies + a), for near-duplicate retrieval against `full`; nil without copies.
    let heldCopies: VideoSet?

    init(dataset: DatasetConfig, held: Int, useCopies: Bool, nearDuplicates: Bool) throws {
        guard let labels = dataset.database.labels else {
            throw DataError("dataset '\(dataset.name)': --validation needs the database split's labels")
        }
        full = try VideoSet.load(
            features: dataset.path(dataset.train.features), key: dataset.train.featureKey,
            labels: dataset.path(labels), labelKeys: dataset.database.labelKeys)
        guard held < full.count else {
            throw ConfigError("--validation \(held) leaves no training videos (\(full.count) in all)")
        }
        var g = Philox(seed: 20_231_029).split("validation")
        let order = g.permutation(full.count)
        let trainIndices = Array(order[held...]).sorted()
        heldIndices = Array(order[..<held]).sorted()
        train = full.subset(trainIndices, name: "train")
        queries = full.subset(heldIndices, name: "validation")
        guard useCopies || nearDuplicates, let augmented = dataset.train.augmented else {
            copies = nil
            heldCopies = nil
            return
        }
        let file = try FeatureFile(
            path: dataset.path(augmented), key: dataset.train.augmentedKey ?? "feats", augmented: true)
        guard file.count == full.count else {
            throw DataError(
                "\(file.path): '\(file.key)' has \(file.count) videos; the training features have \(full.count)")
        }
        func read(_ indices: [Int]) throws -> [Float] {
            var values = [Float](repeating: 0, count: indices.count * file.videoStride)
            try values.withUnsafeMutableBufferPointer { out in
                try file.read(videos: indices, into: out.baseAddress!)
                try file.checkFinite(out.baseAddress!, videos: indices)
            }
            return values
        }
        copies = useCopies ? (try read(trainIndices), file.copies) : nil
        heldCopies =
            nearDuplicates
            ? VideoSet(
                features: try read(heldIndices), count: held * file.copies, frames: file.frames,
                featureSize: file.featureSize, labels: nil, name: "validation copies")
            : nil
    }

    /// Near-duplicate retrieval of the held-out videos' copies against every training video
    /// (a held-out copy's only relevant item is its clean source), with codes from `encode`
    /// (the model's, or a baseline's); nil without copies.
    func nearDuplicates(topK: [Int], encode: (VideoSet) -> PackedCodes) -> RetrievalEvaluation.Result? {
        guard let heldCopies else { return nil }
        let perVideo = heldCopies.count / heldIndices.count
        let sources = (0..<heldCopies.count).map { heldIndices[$0 / perVideo] }
        return RetrievalEvaluation.evaluate(
            queries: encode(heldCopies), database: encode(full), sources: sources,
            topK: topK.filter { $0 <= full.count })
    }

    /// What the near-duplicate table measures.
    var nearDuplicateDescription: String? {
        heldCopies.map {
            "\($0.count) copies of the \(heldIndices.count) held-out videos against the \(full.count) training "
                + "videos; relevant = the copy's own source video"
        }
    }
}
