import Foundation
import Yams

/// Where a dataset's files are and what shape they have: one YAML file per dataset in
/// `configs/datasets/` (see docs/data.md). File names are relative to `root`; a relative
/// `root` is relative to the YAML file's folder, and `CHAIN_DATA_ROOT` or `--root` replace it.
///
///     name: ucf101
///     root: /data/ucf101
///     frames: 25
///     feature_size: 4096
///     classes: 101
///     train:    { features: ucf_train_feats.h5 }
///     database: { features: ucf_train_feats.h5, labels: ucf_train_labels.mat }
///     query:    { features: ucf_test_feats.h5,  labels: ucf_test_labels.mat }
public struct DatasetConfig: Codable, Sendable, Equatable {
    /// One split: a feature file and, for evaluation splits, its label file.
    public struct Split: Codable, Sendable, Equatable {
        /// HDF5 file with the (N, T, F) features.
        public var features: String
        /// Dataset name inside `features` (default `feats`).
        public var key: String?
        /// Label file (.mat v5/v7.3 or HDF5); needed for `database` and `query`.
        public var labels: String?
        /// Label variable; default: the first of `labels`, `re_label`, `q_label` present.
        public var labelKey: String?
        /// Optional pre-extracted augmented copies (N, A, T, F): a file, or a dataset in `features`.
        public var augmented: String?
        public var augmentedKey: String?

        public init(
            features: String, key: String? = nil, labels: String? = nil, labelKey: String? = nil,
            augmented: String? = nil, augmentedKey: String? = nil
        ) {
            self.features = features; self.key = key; self.labels = labels; self.labelKey = labelKey
            self.augmented = augmented; self.augmentedKey = augmentedKey
        }

        enum CodingKeys: String, CodingKey {
            case features, key, labels, augmented
            case labelKey = "label_key", augmentedKey = "augmented_key"
        }

        public var featureKey: String { key ?? "feats" }
        public var labelKeys: [String] { labelKey.map { [$0] } ?? LabelReader.defaultKeys }
    }

    public var name: String
    /// Folder of the files (absolute, or relative to the YAML file).
    public var root: String
    /// Frames per video (T) and feature width (F); every file must agree.
    public var frames: Int
    public var featureSize: Int
    /// Label columns, when known (checked against the label files).
    public var classes: Int?
    public var train: Split
    public var database: Split
    public var query: Split

    enum CodingKeys: String, CodingKey {
        case name, root, frames
        case featureSize = "feature_size"
        case classes, train, database, query
    }

    public init(
        name: String, root: String, frames: Int, featureSize: Int, classes: Int? = nil,
        train: Split, database: Split, query: Split
    ) {
        self.name = name; self.root = root; self.frames = frames; self.featureSize = featureSize
        self.classes = classes; self.train = train; self.database = database; self.query = query
    }

    /// The UCF101-style layout `{name}_train_feats.h5`, `{name}_train_labels.mat` (train = database),
    /// `{name}_test_feats.h5` + `{name}_test_labels.mat` (queries) in `root`.
    public static func publicLayout(
        name: String, root: String, frames: Int, featureSize: Int,
        classes: Int? = nil
    ) -> DatasetConfig {
        DatasetConfig(
            name: name, root: root, frames: frames, featureSize: featureSize, classes: classes,
            train: Split(features: "\(name)_train_feats.h5"),
            database: Split(features: "\(name)_train_feats.h5", labels: "\(name)_train_labels.mat"),
            query: Split(features: "\(name)_test_feats.h5", labels: "\(name)_test_labels.mat"))
    }

    /// Parses YAML text; `source` names it in errors.
    public static func parse(yaml: String, source: String) throws -> DatasetConfig {
        let config: DatasetConfig
        do {
            try rejectUnknownKeys(try Yams.load(yaml: yaml), source: source)
            config = try YAMLDecoder().decode(DatasetConfig.self, from: yaml)
        } catch let error as DataError {
            throw error
        } catch let error as DecodingError {
            throw DataError("\(source): \(describe(error))")
        } catch {
            let oneLine = "\(error)".split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .joined(separator: " ")
            throw DataError("\(source): not valid YAML (\(oneLine))")
        }
        try config.check(source: source)
        return config
    }

    /// Reads a YAML config; a relative `root` becomes relative to the file's folder, and
    /// `rootOverride` (or the environment variable CHAIN_DATA_ROOT) replaces it.
    public static func load(
        path: String, rootOverride: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> DatasetConfig {
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError("\(path): no such file") }
        guard let text = String(data: data, encoding: .utf8) else { throw DataError("\(path): not UTF-8 text") }
        var config = try parse(yaml: text, source: path)
        if let root = rootOverride ?? environment["CHAIN_DATA_ROOT"].flatMap({ $0.isEmpty ? nil : $0 }) {
            config.root = root
        } else if !config.root.hasPrefix("/") {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            config.root = folder.appendingPathComponent(config.root).standardizedFileURL.path
        }
        return config
    }

    /// Whether a YAML file describes a dataset (it names train/database/query files) rather
    /// than a training run.
    public static func isDatasetConfig(_ path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8),
            let mapping = (try? Yams.load(yaml: text)) as? [String: Any]
        else { return false }
        return mapping["train"] != nil || mapping["query"] != nil || mapping["database"] != nil
    }

    /// The YAML text of this config.
    public func yaml() throws -> String { try YAMLEncoder().encode(self) }

    /// Absolute path of a file named in the config.
    public func path(_ file: String) -> String {
        file.hasPrefix("/") ? file : (root as NSString).appendingPathComponent(file)
    }

    func check(source: String) throws {
        guard !name.isEmpty else { throw DataError("\(source): 'name' is empty") }
        guard frames > 0 else { throw DataError("\(source): 'frames' must be positive (got \(frames))") }
        guard featureSize > 0 else {
            throw DataError("\(source): 'feature_size' must be positive (got \(featureSize))")
        }
        if let classes, classes <= 0 { throw DataError("\(source): 'classes' must be positive (got \(classes))") }
        for (splitName, split) in [("database", database), ("query", query)] where split.labels == nil {
            throw DataError("\(source): '\(splitName).labels' is missing (evaluation splits need labels)")
        }
    }

    /// Misspelt keys would otherwise be ignored silently.
    static func rejectUnknownKeys(_ document: Any?, source: String) throws {
        guard let top = document as? [String: Any] else {
            throw DataError("\(source): expected a mapping of dataset settings")
        }
        let known = ["name", "root", "frames", "feature_size", "classes", "train", "database", "query"]
        let splitKeys = ["features", "key", "labels", "label_key", "augmented", "augmented_key"]
        for key in top.keys.sorted() where !known.contains(key) {
            throw DataError("\(source): unknown key '\(key)' (known: \(known.joined(separator: ", ")))")
        }
        for split in ["train", "database", "query"] {
            guard let value = top[split] else { continue }
            guard let keys = value as? [String: Any] else { throw DataError("\(source): '\(split)' must be a mapping") }
            for key in keys.keys.sorted() where !splitKeys.contains(key) {
                throw DataError(
                    "\(source): unknown key '\(split).\(key)' (known: \(splitKeys.joined(separator: ", ")))")
            }
        }
    }

    /// A decoding error as "key path: what is wrong".
    public static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing key '\(path(context.codingPath + [key]))'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "'\(path(context.codingPath))': \(context.debugDescription)"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "not valid YAML (\(context.debugDescription))"
                : "'\(path(context.codingPath))': \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
