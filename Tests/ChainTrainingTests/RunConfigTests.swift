import ChainData
import ChainTraining
import Foundation
import XCTest

/// Run configs: defaults, files, `key=value` overrides and the errors that name the key.
final class RunConfigTests: XCTestCase {
    static let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "../../configs"
    ).standardizedFileURL

    func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "no error" } catch { return "\(error)" }
    }

    func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "chain-run-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testDemoConfigIsTheEmbeddedDefault() throws {
        let demo = try RunConfig.resolve(path: Self.configs.appendingPathComponent("demo.yaml").path, overrides: [])
        var expected = RunConfig()
        expected.evaluation.pcaBaseline = true
        XCTAssertEqual(demo, expected)
        XCTAssertEqual(try RunConfig.resolve(path: nil, overrides: []), RunConfig())
    }

    /// config.yaml writes numbers as people write them and reads back to the same config:
    /// the defaults, each key changed on its own, and awkward values.
    func testPrintedConfigUsesPlainNumbersAndRoundTripsForEveryKey() throws {
        let base = RunConfig()
        let printed = try base.yaml()
        for line in ["dropout: 0.1", "lr: 0.0001", "contrastive_weight: 1", "min_span: 0.5", "mask_ratio: 0"] {
            XCTAssertTrue(printed.contains("  \(line)\n"), "\(line) in:\n\(printed)")
        }
        XCTAssertNil(printed.range(of: #"[0-9]e[-+]"#, options: .regularExpression), printed)
        XCTAssertEqual(try RunConfig.parse(yaml: printed, source: "defaults"), base)
        let choices = [
            "model.mode": "conmh", "training.loading": "stream", "objectives.order_target": "position",
            "model.input_shortcut": "pca", "evaluation.pooling": "activations", "model.positions": "sinusoidal",
            "model.position_index": "frame",
            "objectives.scene_clustering": "features",
            "objectives.scene_negatives": "batch", "objectives.scene_targets": "other_view",
        ]
        for (key, value) in base.flattened.sorted(by: { $0.key < $1.key }) {
            var candidates: [String]
            if let choice = choices[key] {
                candidates = [choice]
            } else if value == "true" || value == "false" {
                candidates = [value == "true" ? "false" : "true"]
            } else if value.hasPrefix("[") {
                candidates = ["[3, 7]"]
            } else if let n = Int(value) {
                candidates = ["\(n + 1)", "\(n * 2)", "\(n + 8)", "\(max(n, 1) * 4)", "\(n - 1)"]
            } else if Double(value) != nil {
                candidates = ["0.3333333333333333", "2.5e-5", "0.05", "1.5", "7"]
            } else {
                candidates = ["some-text"]
            }
            var changed: RunConfig?
            for candidate in candidates {
                let overrides = ["\(key)=\(candidate)"]
                if let c = try? RunConfig.resolve(path: nil, overrides: overrides), c != base {
                    changed = c
                    break
                }
            }
            let config = try XCTUnwrap(changed, "\(key): no candidate value was accepted")
            let text = try config.yaml()
            XCTAssertEqual(try RunConfig.parse(yaml: text, source: key), config, "\(key):\n\(text)")
        }
        let awkward = try RunConfig.resolve(
            path: nil,
            overrides: [
                "training.lr=5e-5", "training.weight_decay=0.3333333333333333", "model.dropout=0.123456789",
                "objectives.temperature=1e-7", "views.min_span=1",
            ])
        let text = try awkward.yaml()
        for line in ["lr: 5e-5", "weight_decay: 0.3333333333333333", "dropout: 0.123456789", "temperature: 1e-7"] {
            XCTAssertTrue(text.contains("  \(line)\n"), "\(line) in:\n\(text)")
        }
        XCTAssertEqual(try RunConfig.parse(yaml: text, source: "awkward"), awkward)
    }

    func testEveryCommittedConfigResolves() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.configs.path).filter {
            $0.hasSuffix(".yaml")
        }.sorted()
        XCTAssertEqual(
            names,
            [
                "activitynet.yaml", "conmh-fcvid.yaml", "demo.yaml", "fcvid.yaml", "hmdb51.yaml", "mmnist.yaml",
                "shots.yaml", "ucf101.yaml",
            ])
        for name in names {
            let run = try RunConfig.resolve(path: Self.configs.appendingPathComponent(name).path, overrides: [])
            if run.dataset != "synthetic" {
                XCTAssertNoThrow(
                    try DatasetConfig.load(path: run.dataset, environment: [:]), "\(name) → \(run.dataset)")
            }
        }
        let conmh = try RunConfig.resolve(
            path: Self.configs.appendingPathComponent("conmh-fcvid.yaml").path, overrides: [])
        let c = conmh.chainConfig(frames: 25, featureSize: 4096)
        XCTAssertEqual(c.mode, .conmh)
        XCTAssertEqual(c.encoder.layers, 12); XCTAssertEqual(c.encoder.heads, 6); XCTAssertEqual(c.encoder.headSize, 42)
        XCTAssertEqual(conmh.trainerOptions.learningRate, 1e-4)
    }

    /// One default config: every CHAIN config of a dataset uses the method settings of
    /// demo.yaml and names only the dataset, the epochs, and what is not the method (the run
    /// name, checkpoint and evaluation cadence). ConMH configs are the baseline's own.
    func testDatasetConfigsUseTheDefaultMethodSettings() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.configs.path).filter {
            $0.hasSuffix(".yaml") && $0 != "demo.yaml" && !$0.hasPrefix("conmh")
        }
        XCTAssertGreaterThanOrEqual(names.count, 6)
        let defaults = RunConfig().flattened
        for name in names {
            let run = try RunConfig.resolve(path: Self.configs.appendingPathComponent(name).path, overrides: [])
            for (key, value) in run.flattened
            where
                !(key == "name" || key == "dataset" || key == "training.epochs"
                || key.hasPrefix("checkpoints.") || key.hasPrefix("evaluation."))
            {
                XCTAssertEqual(value, defaults[key], "\(name) sets \(key)")
            }
        }
    }

    func testFileThenOverridesInOrder() throws {
        let path = try write(
            """
            name: mine
            dataset: datasets/x.yaml
            model: { bits: 32, dropout: 0 }
            training: { epochs: 9, scale_lr: true, batch: 128 }
            """)
        let run = try RunConfig.resolve(
            path: path, overrides: ["model.bits=16", "objectives.debias=0", "evaluation.top_k=[1, 2]"])
        XCTAssertEqual(run.name, "mine")
        XCTAssertEqual(
            run.dataset,
            URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("datasets/x.yaml")
                .standardizedFileURL.path)
        XCTAssertEqual(run.model.bits, 16)  // the override wins over the file
        XCTAssertEqual(run.model.width, 256)  // untouched keys keep the defaults
        XCTAssertEqual(run.evaluation.topK, [1, 2])
        let c = run.chainConfig(frames: 25, featureSize: 512)
        XCTAssertNil(c.contrastive.debiasPrior)
        XCTAssertEqual(c.encoder.dropout, 0)
        XCTAssertEqual(c.encoder.positional, .learned)
        for mode in ["chain", "conmh"] {
            let fixed = try RunConfig.resolve(
                path: nil, overrides: ["model.positions=sinusoidal", "model.mode=\(mode)"])
            XCTAssertEqual(fixed.chainConfig(frames: 25, featureSize: 512).encoder.positional, .sinusoidal, mode)
        }
        XCTAssertEqual(run.trainerOptions.learningRate, 2e-4, accuracy: 1e-9)  // 1e-4 × 128 / 64
        XCTAssertEqual(run.trainerOptions.epochs, 9)
        // The resolved YAML reads back to the same config.
        let saved = try write(try run.yaml())
        XCTAssertEqual(try RunConfig.resolve(path: saved, overrides: []), run)
    }

    func testErrorsNameTheKey() throws {
        XCTAssertTrue(
            message { try RunConfig.resolve(path: nil, overrides: ["model.bitz=3"]) }
                .contains(
                    "unknown key 'model.bitz' (valid here: bits, dropout, ffn, head_size, heads, input_shortcut, "
                        + "layers, mode, position_index, position_scale, positions, width)"))
        XCTAssertTrue(
            message { try RunConfig.resolve(path: nil, overrides: ["model.bits=abc"]) }
                .contains("'model.bits' must be an integer (got text 'abc')"))
        XCTAssertTrue(
            message { try RunConfig.resolve(path: nil, overrides: ["training.lr=fast"]) }
                .contains("'training.lr' must be a number (got text 'fast')"))
        XCTAssertTrue(
            message { try RunConfig.resolve(path: nil, overrides: ["views.feature_augmentation=3"]) }
                .contains("'views.feature_augmentation' must be true/false"))
        XCTAssertTrue(
            message { try RunConfig.resolve(path: nil, overrides: ["model=3"]) }.contains("'model' is a section"))
        XCTAssertTrue(message { try RunConfig.resolve(path: nil, overrides: ["bits"]) }.contains("is not key=value"))
        XCTAssertTrue(
            message { try RunConfig.resolve(path: nil, overrides: ["model.mode=vae"]) }.contains(
                "model.mode must be chain or conmh (got vae)"))
        XCTAssertTrue(
            message { try RunConfig.resolve(path: nil, overrides: ["model.position_index=slot"]) }.contains(
                "model.position_index must be frame or stretched (got slot)"))
        // Chain mode embeds views stretched by default and by frame index on request; ConMH
        // mode ignores the key (its decoder places frames by their index).
        XCTAssertEqual(
            try RunConfig.resolve(path: nil, overrides: []).chainConfig(frames: 20, featureSize: 8).positionIndex,
            .stretched)
        XCTAssertEqual(
            try RunConfig.resolve(path: nil, overrides: ["model.position_index=frame"])
                .chainConfig(frames: 20, featureSize: 8).positionIndex, .frame)
        XCTAssertEqual(
            try RunConfig.resolve(path: nil, overrides: ["model.mode=conmh"])
                .chainConfig(frames: 20, featureSize: 8).positionIndex, .frame)
        XCTAssertTrue(
            message { try RunConfig.resolve(path: nil, overrides: ["model.heads=3"]) }.contains(
                "not divisible by model.heads 3"))
        XCTAssertTrue(
            message { try RunConfig.resolve(path: nil, overrides: ["training.loading=disk"]) }.contains(
                "training.loading must be auto, memory or stream"))
        let typo = try write("trainig: { epochs: 3 }\n")
        XCTAssertTrue(
            message { try RunConfig.resolve(path: typo, overrides: []) }.contains(
                "unknown key 'trainig' (valid: checkpoints, conmh, dataset, evaluation"))
        let nested = try write("training: { epochz: 3 }\n")
        XCTAssertTrue(
            message { try RunConfig.resolve(path: nested, overrides: []) }.contains("unknown key 'training.epochz'"))
        let list = try write("- 1\n- 2\n")
        XCTAssertTrue(
            message { try RunConfig.resolve(path: list, overrides: []) }.contains("expected a mapping of run settings"))
        XCTAssertTrue(
            message { try RunConfig.resolve(path: "/nonexistent.yaml", overrides: []) }.contains(
                "/nonexistent.yaml: no such file"))
    }

    func testResumeInvariantsCoverModelAndBatchButNotCadence() {
        let keys = RunConfig().resumeInvariantKeys
        XCTAssertTrue(
            keys.isSuperset(of: ["model.bits", "training.batch", "training.seed", "views.frames", "dataset"]))
        XCTAssertFalse(keys.contains("checkpoints.every")); XCTAssertFalse(keys.contains("training.loading"))
    }

    /// A checkpoint written before `views.mask_ratio` existed resumes a run that masks
    /// nothing (its old behaviour), and only that run.
    func testCheckpointsFromBeforeAKeyExistedResumeTheOldBehaviour() throws {
        let unmasked = try RunConfig.resolve(path: nil, overrides: ["views.mask_ratio=0"])
        let masked = try RunConfig.resolve(path: nil, overrides: ["views.mask_ratio=0.5"])
        var old = unmasked.flattened
        old["views.mask_ratio"] = nil
        let keys = unmasked.resumeInvariantKeys
        XCTAssertTrue(keys.contains("views.mask_ratio"))
        XCTAssertNil(CheckpointManager.mismatch(stored: old, current: unmasked.flattened, keys: keys))
        XCTAssertEqual(
            CheckpointManager.mismatch(stored: old, current: masked.flattened, keys: keys),
            "the checkpoint was made with views.mask_ratio = 0.0; this run has 0.5")
        XCTAssertNil(CheckpointManager.mismatch(stored: masked.flattened, current: masked.flattened, keys: keys))
        XCTAssertTrue(
            message { try RunConfig.resolve(path: nil, overrides: ["views.mask_ratio=1"]) }
                .contains("views.mask_ratio must be in [0, 1) (got 1.0)"))
    }

    /// A checkpoint written before this session's keys existed (scene forms, order target,
    /// augmented copies), when the scene task was off (β = 0), resumes a run with those old
    /// values, and is refused by today's default run (β = 0.5 with video negatives) and by a
    /// run that changes any of the added keys.
    func testCheckpointsFromBeforeTheIssue15KeysResumeTheOldValues() throws {
        let legacy = ["objectives.scene_weight=0", "objectives.scene_negatives=batch"]
        let run = try RunConfig.resolve(path: nil, overrides: legacy)
        let added = [
            "objectives.scene_clustering", "objectives.scene_negatives", "objectives.scene_targets",
            "objectives.order_target", "views.augmented_copies",
        ]
        var old = run.flattened
        for key in added {
            XCTAssertNotNil(old[key], key)
            old[key] = nil
        }
        let keys = run.resumeInvariantKeys
        XCTAssertNil(CheckpointManager.mismatch(stored: old, current: run.flattened, keys: keys))
        XCTAssertEqual(
            CheckpointManager.mismatch(stored: old, current: RunConfig().flattened, keys: keys),
            "the checkpoint was made with objectives.scene_negatives = batch; this run has video")
        for override in [
            "objectives.scene_clustering=features", "objectives.scene_negatives=video",
            "objectives.scene_targets=other_view", "objectives.order_target=position", "views.augmented_copies=false",
        ] {
            let changed = try RunConfig.resolve(path: nil, overrides: legacy + [override])
            XCTAssertNotNil(CheckpointManager.mismatch(stored: old, current: changed.flattened, keys: keys), override)
        }
        XCTAssertTrue(
            message { try RunConfig.resolve(path: nil, overrides: ["objectives.order_target=absolute"]) }
                .contains("objectives.order_target must be rank or position (got absolute)"))
    }
}
