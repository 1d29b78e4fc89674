import ChainData
import ChainNumerics

/// Model selection without the test split: `held` training videos (a fixed random choice,
/// the same for every run) become queries against the other training videos, which are also
/// what trains. Held in memory.
struct ValidationSplit {
    let train: VideoSet
    let queries: VideoSet

    init(dataset: DatasetConfig, held: Int) throws {
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
        train = full.subset(Array(order[held...]).sorted(), name: "train")
        queries = full.subset(Array(order[..<held]).sorted(), name: "validation")
    }
}
