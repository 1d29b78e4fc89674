import ChainData
import ChainNumerics

/// Model selection without the test split: `held` training videos (a fixed random choice,
/// the same for every run) become queries against the other training videos, which are also
/// what trains. Held in memory.
struct ValidationSplit {
    let train: VideoSet
    let queries: VideoSet
    /// The training part's augmented copies, [train.count, copies, T, F], when asked for and present.
    let copies: (values: [Float], copies: Int)?

    init(dataset: DatasetConfig, held: Int, useCopies: Bool) throws {
        guard let labels = dataset.database.labels else {
            throw DataError("dataset '\(dataset.name)': --validation needs the database split's labels")
        }
        let full = try VideoSet.load(
            features: dataset.path(dataset.train.features), key: dataset.train.featureKey,
            labels: dataset.path(labels), labelKeys: dataset.database.labelKeys)
        guard held < full.count else {
            throw ConfigError("--validation \(held) leaves no training videos (\(full.count) in all)")
        }
        var g = Philox(seed: 20_231_029).split("validation")
        let order = g.permutation(full.count)
        let trainIndices = Array(order[held...]).sorted()
        train = full.subset(trainIndices, name: "train")
        queries = full.subset(Array(order[..<held]).sorted(), name: "validation")
        guard useCopies, let augmented = dataset.train.augmented else { copies = nil; return }
        let file = try FeatureFile(
            path: dataset.path(augmented), key: dataset.train.augmentedKey ?? "feats",
            augmented: true)
        guard file.count == full.count else {
            throw DataError(
                "\(file.path): '\(file.key)' has \(file.count) videos; the training features have \(full.count)")
        }
        var values = [Float](repeating: 0, count: trainIndices.count * file.videoStride)
        try values.withUnsafeMutableBufferPointer { out in
            for (k, v) in trainIndices.enumerated() {
                try file.read(first: v, count: 1, into: out.baseAddress! + k * file.videoStride)
            }
        }
        try values.withUnsafeBufferPointer { x in
            try file.checkFinite(x.baseAddress!, videos: trainIndices)
        }
        copies = (values, file.copies)
    }
}
