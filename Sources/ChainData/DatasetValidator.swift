import Foundation

/// Checks a configured dataset before anything trains on it: every file exists and is
/// HDF5/.mat, keys are present, shapes agree with each other and with the config, element
/// types are numeric, features are finite (the first bad video is named), label rows match
/// feature rows, every query has at least one label, and the world size does not exceed the
/// training videos. The first problem is thrown as a `DataError` naming the file, key, index
/// or option; on success the summary describes what was checked.
public struct DatasetValidator {
    public var config: DatasetConfig
    /// Ranks that will train (0: do not check).
    public var worldSize: Int
    /// Scan every value for NaN/Inf (reads each feature file once).
    public var scanValues: Bool

    public init(config: DatasetConfig, worldSize: Int = 0, scanValues: Bool = true) {
        self.config = config; self.worldSize = worldSize; self.scanValues = scanValues
    }

    /// One split's findings.
    public struct SplitSummary: Sendable {
        public var role: String
        public var features: String
        public var videos: Int
        public var elementType: String
        public var augmentedCopies: Int?
        public var labels: LabelMatrix?
    }

    /// The three splits' findings, by name (and in the order train, database, query).
    public struct Splits: RandomAccessCollection, Sendable {
        public let all: [SplitSummary]
        public var train: SplitSummary { all[0] }
        public var database: SplitSummary { all[1] }
        public var query: SplitSummary { all[2] }
        public var startIndex: Int { 0 }
        public var endIndex: Int { all.count }
        public subscript(index: Int) -> SplitSummary { all[index] }
    }

    public func validate() throws -> Splits {
        var summaries: [SplitSummary] = []
        var scanned: [String: Int] = [:]  // feature file:key → videos (each file scanned once)
        for (role, split) in [("train", config.train), ("database", config.database), ("query", config.query)] {
            let path = config.path(split.features)
            let features = try FeatureFile(
                path: path, key: split.featureKey, frames: config.frames,
                featureSize: config.featureSize)
            let id = "\(path):\(split.featureKey)"
            if scanValues && scanned[id] == nil, let bad = try features.firstNonFiniteVideo() {
                throw DataError("\(path): '\(split.featureKey)' has a NaN or infinite value in video \(bad)")
            }
            scanned[id] = features.count
            var summary = SplitSummary(
                role: role, features: path, videos: features.count,
                elementType: "\(features.elementType)")
            if let augmented = split.augmented {
                let file = config.path(augmented)
                let copies = try FeatureFile(
                    path: file, key: split.augmentedKey ?? "feats", augmented: true,
                    frames: config.frames, featureSize: config.featureSize)
                guard copies.count == features.count else {
                    throw DataError(
                        "\(file): '\(copies.key)' has \(copies.count) videos; \(path) has \(features.count)")
                }
                if scanValues, let bad = try copies.firstNonFiniteVideo() {
                    throw DataError("\(file): '\(copies.key)' has a NaN or infinite value in video \(bad)")
                }
                summary.augmentedCopies = copies.copies
            }
            if let labelFile = split.labels {
                let labelPath = config.path(labelFile)
                let labels = try LabelReader.read(path: labelPath, keys: split.labelKeys)
                guard labels.rows == features.count else {
                    throw DataError("\(labelPath): \(labels.rows) label rows for \(features.count) videos in \(path)")
                }
                if let classes = config.classes, labels.classes != classes {
                    throw DataError(
                        "\(labelPath): \(labels.classes) label columns; the dataset config says \(classes) classes")
                }
                if role == "query", let empty = (0..<labels.rows).first(where: { !labels.row($0).contains(1) }) {
                    throw DataError("\(labelPath): query \(empty) has no label (every query needs at least one)")
                }
                summary.labels = labels
            } else if role != "train" {
                throw DataError("dataset '\(config.name)': the \(role) split has no label file")
            }
            summaries.append(summary)
        }
        let train = summaries[0].videos
        if worldSize > train {
            throw DataError("world size \(worldSize) is larger than the \(train) training videos of '\(config.name)'")
        }
        if let d = summaries[1].labels, let q = summaries[2].labels, d.classes != q.classes {
            throw DataError(
                "\(config.path(config.query.labels!)): \(q.classes) label columns; the database labels have "
                    + "\(d.classes)"
            )
        }
        return Splits(all: summaries)
    }
}
