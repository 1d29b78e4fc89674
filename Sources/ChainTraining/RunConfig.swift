import ChainData
import ChainModel
import ChainNN
import Foundation
import Yams

/// Everything a training run is configured by, as YAML (configs/*.yaml, docs/distributed.md):
/// which dataset, the model, the views, the objectives, optimisation, checkpoints and
/// evaluation. A file gives any subset of the keys; the rest keep the defaults below (the
/// built-in demo). Command-line overrides `section.key=value` apply on top. Unknown keys and
/// wrong types are errors that name the key and list the valid ones.
public struct RunConfig: Codable, Equatable, Sendable {
    public struct Model: Codable, Equatable, Sendable {
        public var mode = CHAINConfig.Mode.chain
        public var bits = 64
        public var width = 256
        public var layers = 4
        public var heads = 8
        /// Width of one attention head (0: width / heads).
        public var headSize = 0
        public var ffn = 1024
        public var dropout: Double = 0.1
        /// Chain mode: the hash layer also reads each frame's input features through a
        /// PCA-initialised Linear (`InputShortcut`).
        public var inputShortcut = InputShortcut.none
        /// The frames' positional embedding: learned (a trained table, N(0, 0.02²) at the
        /// start) or sinusoidal (the fixed sin/cos table, visible from the first step).
        public var positions = PositionalEncoding.learned
        /// The position table's factor: the sinusoidal table's (1: RMS 1/√2 per element), or the
        /// learned table's (PE = s·θ, θ from N(0, 0.02²): s times larger at the start and, under
        /// Adam, s times faster to train).
        public var positionScale: Double = 1
        /// Chain mode: the position each frame of a view is embedded at, its index in the video
        /// (frame) or the view's span stretched over the video (stretched, the default;
        /// `PositionIndex`). ConMH mode ignores it: its decoder places frames by their index.
        public var positionIndex = PositionIndex.stretched
        enum CodingKeys: String, CodingKey {
            case mode, bits, width, layers, heads, headSize = "head_size", ffn, dropout
            case inputShortcut = "input_shortcut", positions, positionScale = "position_scale"
            case positionIndex = "position_index"
        }
    }

    public struct Views: Codable, Equatable, Sendable {
        /// L, frames per view (chain mode; ConMH views hold every frame).
        public var frames = 12
        /// s_min, the smallest span of the video a view covers.
        public var minSpan: Double = 0.5
        /// Fraction of the L segment-sampled frames masked (dropped from the view at random;
        /// chain mode — ConMH mode masks with `conmh.mask_ratio`).
        public var maskRatio: Double = 0
        /// Feature-space spatial augmentation when the views do not read augmented copies.
        public var featureAugmentation = false
        /// Read each view from one of the dataset's pre-extracted augmented copies, when it has them.
        public var augmentedCopies = true
        enum CodingKeys: String, CodingKey {
            case frames, minSpan = "min_span", maskRatio = "mask_ratio", featureAugmentation = "feature_augmentation"
            case augmentedCopies = "augmented_copies"
        }
    }

    public struct Objectives: Codable, Equatable, Sendable {
        public var contrastiveWeight: Double = 1
        public var orderWeight: Double = 1
        /// What the order head predicts: rank (among the view's L frames) or position (the
        /// frame's index among the video's T).
        public var orderTarget = OrderTarget.rank
        /// The fraction of the view's frames the order pass moves: 1 shuffles them all (at slot
        /// positions); below 1 the rest stay in place as the context (docs/method.md).
        public var orderShuffled: Double = 1
        /// View 0 played backwards is a contrastive negative of every anchor (docs/method.md).
        public var reversedNegatives = false
        /// β. On by default in its per-video form (docs/method.md, issue 15).
        public var sceneWeight: Double = 0.5
        public var temperature: Double = 0.5
        /// τ⁺ of the debiased contrastive loss (0: plain NT-Xent).
        public var debias: Double = 0.1
        public var sceneTemperature: Double = 0.1
        /// Scene loss on the frames of 1 or 2 views.
        public var sceneViews = 2
        /// What affinity propagation clusters: codes (the view's detached h) or features (the
        /// video's input features, once per video).
        public var sceneClustering = SceneChangeForm.Clustering.codes
        /// A frame's candidate prototypes: batch (every scene of the global batch) or video
        /// (the scenes of its own video).
        public var sceneNegatives = SceneChangeForm.Negatives.video
        /// Whose prototypes a view's frames are pulled to: same_view or other_view.
        public var sceneTargets = SceneChangeForm.Targets.sameView
        /// γ in chain mode: reconstruct the frames a view did not sample (0: off; docs/method.md).
        public var reconstructionWeight: Double = 0
        enum CodingKeys: String, CodingKey {
            case contrastiveWeight = "contrastive_weight", orderWeight = "order_weight", sceneWeight = "scene_weight"
            case temperature, debias, sceneTemperature = "scene_temperature", sceneViews = "scene_views"
            case orderTarget = "order_target", orderShuffled = "order_shuffled"
            case reversedNegatives = "reversed_negatives"
            case sceneClustering = "scene_clustering", sceneNegatives = "scene_negatives", sceneTargets =
                "scene_targets"
            case reconstructionWeight = "reconstruction_weight"
        }
    }

    /// ConMH mode's masking and reconstruction.
    public struct ConMH: Codable, Equatable, Sendable {
        /// Fraction of each view's frames hidden from the encoder.
        public var maskRatio: Double = 0.5
        /// γ, the weight of the masked-frame reconstruction.
        public var reconstructionWeight: Double = 1
        enum CodingKeys: String, CodingKey {
            case maskRatio = "mask_ratio", reconstructionWeight = "reconstruction_weight"
        }
    }

    public struct Training: Codable, Equatable, Sendable {
        public var epochs = 6
        /// Global batch in videos (divisible by the world size).
        public var batch = 128
        public var lr: Double = 1e-4
        /// Linear scaling rule: lr × batch / 64.
        public var scaleLr = false
        public var warmupEpochs = 2
        public var weightDecay: Double = 0.01
        /// Gradient-norm clip (0: none).
        public var gradientClip: Double = 1
        /// Floats per gradient all-reduce (0: the whole buffer at once).
        public var gradientBucket = 0
        public var seed: UInt64 = 1
        /// How the training features get into memory (docs/data.md).
        public var loading = Loading.auto
        /// Compute threads per rank (0: the node's cores divided by its ranks). Each pass is
        /// split over them by videos, with one BLAS thread each (docs/benchmarks.md).
        public var threads = 0
        enum CodingKeys: String, CodingKey {
            case epochs, batch, lr, scaleLr = "scale_lr", warmupEpochs = "warmup_epochs", weightDecay = "weight_decay"
            case gradientClip = "gradient_clip", gradientBucket = "gradient_bucket", seed, loading, threads
        }
    }

    public struct Checkpoints: Codable, Equatable, Sendable {
        /// Every N optimizer steps (0: at epoch ends only; always on SIGTERM/SIGUSR1).
        public var every = 0
        public var keep = 3
    }

    public struct Evaluation: Codable, Equatable, Sendable {
        /// Every N epochs during training (0: only at the end).
        public var every = 0
        public var topK = [5, 10, 20, 40, 60, 80, 100]
        /// Hold out this many training videos as validation queries (the queries are then not read).
        public var validation = 0
        public var pcaBaseline = false
        /// Encode each video as this many interleaved sequences of ⌊T/views⌋ frames (1: one
        /// sequence of all frames).
        public var views = 1
        /// Also report near-duplicate retrieval when the dataset has augmented copies: the
        /// copies query the clean training videos, relevant = the same source video.
        public var nearDuplicates = true
        /// What a video's code averages over its frames before the sign: the frame codes or
        /// their pre-binarisation values h (`CodePooling`).
        public var pooling = CodePooling.codes
        enum CodingKeys: String, CodingKey {
            case every, topK = "top_k", validation, pcaBaseline = "pca_baseline", views
            case nearDuplicates = "near_duplicates", pooling
        }
    }

    /// Run name: the run folder is runs/<name> (empty: the dataset's name).
    public var name = ""
    /// A dataset config (YAML, relative to this file), or `synthetic` for the built-in generated set.
    public var dataset = "synthetic"
    public var model = Model()
    public var views = Views()
    public var objectives = Objectives()
    public var conmh = ConMH()
    public var training = Training()
    public var checkpoints = Checkpoints()
    public var evaluation = Evaluation()

    public init() {}

    /// A config from resolved YAML text (as stored in checkpoints and config.yaml).
    /// `source` names it in errors; a relative dataset path stays as written.
    public static func parse(yaml text: String, source: String) throws -> RunConfig {
        try resolve(text: text, source: source, folder: nil, overrides: [])
    }

    /// The key tree of the defaults: what a file or an override may name.
    static func schema() -> [String: Any] {
        // The defaults always encode; every field is non-optional so every key appears.
        let text = (try? YAMLEncoder().encode(RunConfig())) ?? ""
        return ((try? Yams.load(yaml: text)) as? [String: Any]) ?? [:]
    }

    /// Resolves a run: defaults, then the file at `path` (if any), then `overrides`
    /// ("section.key=value", values in YAML syntax). `source` names the file in errors.
    public static func resolve(path: String?, overrides: [String]) throws -> RunConfig {
        guard let path else { return try resolve(text: nil, source: "defaults", folder: nil, overrides: overrides) }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw ConfigError("\(path): no such file (or not UTF-8 text)")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        return try resolve(text: text, source: path, folder: folder, overrides: overrides)
    }

    /// Defaults, then the YAML `text` (if any), then `overrides`; a relative dataset path in
    /// the text is taken relative to `folder` (when given).
    static func resolve(text: String?, source: String, folder: URL?, overrides: [String]) throws -> RunConfig {
        let schema = schema()
        var tree = schema
        if let text {
            let document: Any?
            do { document = try Yams.load(yaml: text) } catch {
                throw ConfigError(
                    "\(source): not valid YAML "
                        + "(\("\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")))"
                )
            }
            guard let mapping = document as? [String: Any] else {
                throw ConfigError("\(source): expected a mapping of run settings")
            }
            try merge(mapping, into: &tree, schema: schema, prefix: "", source: source)
            // A relative dataset path is relative to the run config's folder.
            if let folder, let dataset = mapping["dataset"] as? String, dataset != "synthetic", !dataset.hasPrefix("/")
            {
                tree["dataset"] = folder.appendingPathComponent(dataset).standardizedFileURL.path
            }
        }
        for override in overrides {
            guard let equals = override.firstIndex(of: "=") else {
                throw ConfigError("override '\(override)' is not key=value (for example model.bits=32)")
            }
            let key = String(override[..<equals]), text = String(override[override.index(after: equals)...])
            let value: Any = (try? Yams.load(yaml: text)).flatMap { $0 } ?? text
            try set(key.split(separator: ".").map(String.init), value, in: &tree, schema: schema, fullKey: key)
        }
        do {
            // Through JSON, which keeps every Double exact (Yams writes 15 significant digits).
            let config = try JSONDecoder().decode(RunConfig.self, from: JSONSerialization.data(withJSONObject: tree))
            try config.check()
            return config
        } catch let error as ConfigError {
            throw ConfigError("\(source): \(error.message)")
        } catch let error as DecodingError {
            throw ConfigError("\(source): \(DatasetConfig.describe(error))")
        }
    }

    static func merge(
        _ user: [String: Any], into tree: inout [String: Any], schema: [String: Any], prefix: String, source: String
    ) throws {
        for (key, value) in user.sorted(by: { $0.key < $1.key }) {
            let full = prefix.isEmpty ? key : "\(prefix).\(key)"
            guard let expected = schema[key] else {
                throw ConfigError(
                    "\(source): unknown key '\(full)' (valid: \(schema.keys.sorted().joined(separator: ", ")))")
            }
            if let section = expected as? [String: Any] {
                guard let values = value as? [String: Any] else {
                    throw ConfigError(
                        "\(source): '\(full)' must be a mapping (keys: "
                            + "\(section.keys.sorted().joined(separator: ", ")))"
                    )
                }
                var sub = tree[key] as? [String: Any] ?? section
                try merge(values, into: &sub, schema: section, prefix: full, source: source)
                tree[key] = sub
            } else {
                try checkType(value, like: expected, key: full, source: source)
                tree[key] = value
            }
        }
    }

    /// Keys whose value is one of a fixed set (typed enums in the config).
    static let choices: [String: [String]] = [
        "model.mode": CHAINConfig.Mode.allCases.map(\.rawValue),
        "training.loading": Loading.allCases.map(\.rawValue),
        "objectives.order_target": OrderTarget.allCases.map(\.rawValue),
        "model.input_shortcut": InputShortcut.allCases.map(\.rawValue),
        "model.positions": PositionalEncoding.allCases.map(\.rawValue),
        "model.position_index": PositionIndex.allCases.map(\.rawValue),
        "evaluation.pooling": CodePooling.allCases.map(\.rawValue),
        "objectives.scene_clustering": SceneChangeForm.Clustering.allCases.map(\.rawValue),
        "objectives.scene_negatives": SceneChangeForm.Negatives.allCases.map(\.rawValue),
        "objectives.scene_targets": SceneChangeForm.Targets.allCases.map(\.rawValue),
    ]

    /// A leaf must have the type of its default: integer, number, true/false, text or a list
    /// of integers; a key with `choices` must be one of them.
    static func checkType(_ value: Any, like expected: Any, key: String, source: String?) throws {
        if let allowed = choices[key], let text = value as? String, !allowed.contains(text) {
            let list = allowed.dropLast().joined(separator: ", ") + (allowed.count > 1 ? " or " : "") + allowed.last!
            throw ConfigError("\(source.map { "\($0): " } ?? "")\(key) must be \(list) (got \(text))")
        }
        func kind(_ v: Any) -> String {
            switch v {
            case is Bool: "true/false"
            case is Int: "an integer"
            case is Double: "a number"
            case is String: "text"
            case is [Any]: "a list"
            default: "\(type(of: v))"
            }
        }
        let ok: Bool
        switch expected {
        case is Bool: ok = value is Bool
        case is Int: ok = value is Int && !(value is Bool)
        case is Double: ok = (value is Double || value is Int) && !(value is Bool)
        case is String: ok = value is String
        case is [Any]: ok = (value as? [Any])?.allSatisfy { $0 is Int && !($0 is Bool) } ?? false
        default: ok = true
        }
        guard ok else {
            let want = expected is [Any] ? "a list of integers" : kind(expected)
            throw ConfigError(
                "\(source.map { "\($0): " } ?? "")'\(key)' must be \(want) (got \(kind(value)) '\(value)')")
        }
    }

    static func set(
        _ path: [String], _ value: Any, in tree: inout [String: Any], schema: [String: Any], fullKey: String
    ) throws {
        guard let head = path.first, let expected = schema[head] else {
            throw ConfigError("unknown key '\(fullKey)' (valid here: \(schema.keys.sorted().joined(separator: ", ")))")
        }
        if path.count == 1 {
            if let section = expected as? [String: Any] {
                throw ConfigError(
                    "'\(fullKey)' is a section; set one of its keys: "
                        + "\(section.keys.sorted().map { "\(fullKey).\($0)" }.joined(separator: ", "))"
                )
            }
            try checkType(value, like: expected, key: fullKey, source: nil)
            tree[head] = value
            return
        }
        guard let section = expected as? [String: Any] else {
            throw ConfigError("unknown key '\(fullKey)': '\(head)' has no sub-keys")
        }
        var sub = tree[head] as? [String: Any] ?? section
        try set(Array(path.dropFirst()), value, in: &sub, schema: section, fullKey: fullKey)
        tree[head] = sub
    }

    /// Range checks that name the key.
    func check() throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw ConfigError(message) } }
        try require(model.bits > 0 && model.bits <= 4096, "model.bits must be in 1...4096 (got \(model.bits))")
        try require(
            model.width > 0 && model.layers > 0 && model.heads > 0 && model.ffn > 0,
            "model.width, model.layers, model.heads and model.ffn must be positive")
        try require(
            model.headSize > 0 || model.width % model.heads == 0,
            "model.width \(model.width) is not divisible by model.heads \(model.heads); set model.head_size")
        try require(model.dropout >= 0 && model.dropout < 1, "model.dropout must be in [0, 1) (got \(model.dropout))")
        try require(views.frames >= 1, "views.frames must be positive (got \(views.frames))")
        try require(views.minSpan > 0 && views.minSpan <= 1, "views.min_span must be in (0, 1] (got \(views.minSpan))")
        try require(
            views.maskRatio >= 0 && views.maskRatio < 1, "views.mask_ratio must be in [0, 1) (got \(views.maskRatio))")
        try require(
            model.positionScale > 0, "model.position_scale must be positive (got \(model.positionScale))")
        try require(
            objectives.temperature > 0, "objectives.temperature must be positive (got \(objectives.temperature))")
        try require(
            objectives.debias >= 0 && objectives.debias < 1,
            "objectives.debias must be in [0, 1) (got \(objectives.debias))")
        try require(
            objectives.orderShuffled > 0 && objectives.orderShuffled <= 1,
            "objectives.order_shuffled must be in (0, 1] (got \(objectives.orderShuffled))")
        try require(
            objectives.sceneViews == 1 || objectives.sceneViews == 2,
            "objectives.scene_views must be 1 or 2 (got \(objectives.sceneViews))")
        try require(
            objectives.contrastiveWeight >= 0 && objectives.orderWeight >= 0 && objectives.sceneWeight >= 0,
            "objective weights must be non-negative")
        try require(
            conmh.maskRatio >= 0 && conmh.maskRatio < 1, "conmh.mask_ratio must be in [0, 1) (got \(conmh.maskRatio))")
        try require(
            objectives.reconstructionWeight >= 0 && conmh.reconstructionWeight >= 0,
            "reconstruction weights must be non-negative")
        try require(training.epochs >= 1, "training.epochs must be positive (got \(training.epochs))")
        try require(training.batch >= 1, "training.batch must be positive (got \(training.batch))")
        try require(training.lr > 0, "training.lr must be positive (got \(training.lr))")
        try require(
            training.weightDecay >= 0, "training.weight_decay must be non-negative (got \(training.weightDecay))")
        try require(
            training.gradientClip >= 0 && training.gradientBucket >= 0,
            "training.gradient_clip and training.gradient_bucket must be non-negative")
        try require(training.threads >= 0, "training.threads must be ≥ 0 (0: automatic)")
        try require(evaluation.views >= 1, "evaluation.views must be ≥ 1")
        try require(
            checkpoints.every >= 0 && checkpoints.keep >= 1, "checkpoints.every must be ≥ 0 and checkpoints.keep ≥ 1")
        try require(
            evaluation.every >= 0 && evaluation.validation >= 0,
            "evaluation.every and evaluation.validation must be non-negative")
        try require(
            !evaluation.topK.isEmpty && evaluation.topK.allSatisfy { $0 > 0 },
            "evaluation.top_k must be a non-empty list of positive numbers")
    }

    /// The model and objectives for data of `frames` × `featureSize` (the one place settings
    /// become a `CHAINConfig`: T_max, the order head's outputs, is `frames`).
    public func chainConfig(frames: Int, featureSize: Int) -> CHAINConfig {
        let headSize = model.headSize > 0 ? model.headSize : model.width / model.heads
        var c: CHAINConfig
        if model.mode == .conmh {
            c = CHAINConfig.conmh(
                featureSize: featureSize, frames: frames, bits: model.bits, modelSize: model.width,
                layers: model.layers, heads: model.heads, headSize: headSize, ffnSize: model.ffn)
            c.reconstructionWeight = Float(conmh.reconstructionWeight)
            c.conmh.maskRatio = Float(conmh.maskRatio)
        } else {
            c = CHAINConfig(
                featureSize: featureSize, maxFrames: frames, bits: model.bits, modelSize: model.width,
                layers: model.layers, heads: model.heads, ffnSize: model.ffn, viewFrames: views.frames)
            c.encoder.headSize = headSize
            c.orderWeight = Float(objectives.orderWeight)
            c.orderTarget = objectives.orderTarget
            c.orderShuffled = Float(objectives.orderShuffled)
            c.reversedNegatives = objectives.reversedNegatives
            c.inputShortcut = model.inputShortcut
            c.positionIndex = model.positionIndex
            c.sceneWeight = Float(objectives.sceneWeight)
            c.scene.temperature = Float(objectives.sceneTemperature)
            c.sceneOnBothViews = objectives.sceneViews == 2
            c.sceneForm = SceneChangeForm(
                clustering: objectives.sceneClustering, negatives: objectives.sceneNegatives,
                targets: objectives.sceneTargets)
            c.views.minimumSpan = Float(views.minSpan)
            c.views.maskRatio = Float(views.maskRatio)
            c.reconstructionWeight = Float(objectives.reconstructionWeight)
        }
        c.contrastiveWeight = Float(objectives.contrastiveWeight)
        c.contrastive.temperature = Float(objectives.temperature)
        c.contrastive.debiasPrior = objectives.debias > 0 ? Float(objectives.debias) : nil
        c.encoder.dropout = Float(model.dropout)
        c.encoder.positional = model.positions
        c.encoder.positionScale = Float(model.positionScale)
        if !views.featureAugmentation { c.augmentation = .identity }
        return c
    }

    /// Optimisation settings for the trainer.
    public var trainerOptions: Trainer.Options {
        var o = Trainer.Options()
        o.epochs = training.epochs
        o.batchSize = training.batch
        o.learningRate = Float(training.scaleLr ? training.lr * Double(training.batch) / 64 : training.lr)
        o.warmupEpochs = training.warmupEpochs
        o.weightDecay = Float(training.weightDecay)
        o.gradientClip = training.gradientClip > 0 ? Float(training.gradientClip) : nil
        o.gradientBucket = training.gradientBucket > 0 ? training.gradientBucket : nil
        o.seed = training.seed
        o.threads = training.threads
        o.encodingViews = evaluation.views
        o.encodingPooling = evaluation.pooling
        return o
    }

    /// The resolved config as YAML (printed at start, saved as runs/<name>/config.yaml).
    public func yaml() throws -> String { try HumanNumbers.yaml(self) }

    /// Flat "section.key" → value text, for checkpoint compatibility checks.
    public var flattened: [String: String] {
        var out: [String: String] = [:]
        func walk(_ node: Any, _ prefix: String) {
            if let map = node as? [String: Any] {
                for (k, v) in map { walk(v, prefix.isEmpty ? k : "\(prefix).\(k)") }
            } else {
                out[prefix] = "\(node)"
            }
        }
        // Yams's own encoding (every Double as a Double), so that the values stored in
        // checkpoints before numbers were printed as people write them still compare equal.
        if let text = try? YAMLEncoder().encode(self), let tree = try? Yams.load(yaml: text) { walk(tree as Any, "") }
        return out
    }

    /// Keys added after checkpoints were first written, each with the value that reproduces
    /// the behaviour from before it existed: a checkpoint that lacks the key resumes a run
    /// that has this value.
    public static let valuesBeforeKeysExisted: [String: String] = {
        var legacy = RunConfig()
        legacy.views.maskRatio = 0
        legacy.objectives.sceneClustering = .codes
        legacy.objectives.sceneNegatives = .batch
        legacy.objectives.sceneTargets = .sameView
        legacy.views.augmentedCopies = true
        legacy.objectives.orderTarget = .rank
        legacy.objectives.orderShuffled = 1
        legacy.objectives.reversedNegatives = false
        legacy.model.inputShortcut = .none
        legacy.model.positions = .learned
        legacy.model.positionScale = 1
        legacy.model.positionIndex = .frame
        let flat = legacy.flattened
        let keys = [
            "views.mask_ratio", "objectives.scene_clustering", "objectives.scene_negatives",
            "objectives.scene_targets", "views.augmented_copies", "objectives.order_target",
            "model.input_shortcut", "objectives.order_shuffled", "objectives.reversed_negatives", "model.positions",
            "model.position_scale", "model.position_index",
        ]
        return Dictionary(uniqueKeysWithValues: keys.map { ($0, flat[$0] ?? "") })
    }()

    /// Settings a checkpoint must share with the run that resumes it: everything except
    /// names, loading, bucketing, checkpoint and evaluation cadence.
    public var resumeInvariantKeys: Set<String> {
        Set(
            flattened.keys.filter { key in
                !(key == "name" || key.hasPrefix("checkpoints.") || key.hasPrefix("evaluation.")
                    || key == "training.loading"
                    || key == "training.gradient_bucket" || key == "training.threads")
            })
    }
}
