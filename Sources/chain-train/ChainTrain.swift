import ArgumentParser
import ChainData
import ChainDistributed
import ChainModel
import ChainNumerics
import ChainToy
import ChainTraining
import Foundation

/// `chain-train`: the training entry point.
///
/// With `--data`, trains CHAIN (or ConMH mode) on a dataset in the public layout and
/// reports retrieval mAP. Without it, trains the engine's built-in toy task — recovering
/// the order of shuffled frames — so every piece of the engine runs in seconds. Both run
/// data-parallel under MPI. (YAML configs, checkpoints and resume arrive with issues 5 and 7.)
@main
struct ChainTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chain-train",
        abstract: "Train CHAIN on a dataset and report retrieval mAP.",
        discussion: """
            With no arguments, generates (once) a small synthetic dataset in runs/default/data and
            trains CHAIN on it for 6 epochs (a few minutes on 2 cores). With --config (a dataset
            YAML, see configs/datasets/) or --data, trains on that dataset. Run directly for one
            process, or under MPI for data-parallel training:
              chain-train
              chain-train --config configs/datasets/mmnist.yaml --epochs 60
              mpirun -np 4 chain-train --config configs/datasets/ucf101.yaml --resume auto
            The global batch is split evenly over the ranks, so any world size that divides it
            trains the same model. SIGTERM/SIGUSR1 write a checkpoint and exit with status 75;
            --resume auto continues exactly. --toy runs the engine's frame-order toy task.
            """)

    @Flag(help: "Run the engine's frame-order toy task (seconds) instead of CHAIN.") var toy = false
    @Option(help: "Optimizer steps (toy task).") var steps = 800
    @Option(help: "Global batch size in clips (divisible by the number of ranks).") var clips = 64
    @Option(help: "Frames per clip (the number of positions to recover).") var frames = 16
    @Option(name: .customLong("lr"), help: "Peak learning rate (linear warm-up, cosine decay); default 1e-3 with --data, 3e-3 for the toy task.")
    var learningRate: Float?
    @Option(help: "Random seed (initialisation and data).") var seed: UInt64 = 1
    @Option(help: "Print a progress line every N steps.") var logEvery = 50
    @Option(help: "Stop with a failure unless final frame accuracy reaches this fraction (toy task).") var requireAccuracy: Double?

    @Option(name: .customLong("config"), help: "Dataset config (YAML, see configs/datasets/ and docs/data.md).") var datasetConfig: String?
    @Option(help: "Folder of the dataset's files (replaces the config's root).") var root: String?
    @Option(help: "Dataset folder in the public layout ({name}_train_feats.h5, {name}_train_labels.mat, …), instead of --config.") var data: String?
    @Option(help: "Dataset file-name prefix inside --data.") var name = "mmnist"
    @Option(help: "Method: chain or conmh.") var mode = "chain"
    @Option(help: "Code length.") var bits = 64
    @Option(name: .customLong("epochs"), help: "Training epochs (default 50; 6 for the built-in synthetic run).") var epochsOption: Int?
    @Option(help: "Global batch in videos (dataset mode).") var batch = 64
    @Option(help: "Model width d.") var modelSize = 256
    @Option(help: "Transformer blocks.") var layers = 4
    @Option(help: "Attention heads.") var heads = 8
    @Option(help: "Feed-forward width.") var ffn = 1024
    @Option(help: "Frames per view L (chain mode).") var viewFrames = 12
    @Option(help: "Weight of the contrastive task (0 turns it off).") var contrastiveWeight: Float = 1
    @Option(help: "α, weight of frame-order verification (0 turns it off).") var orderWeight: Float = 1
    @Option(help: "β, weight of scene-change regularisation (default 0: off, see docs/method.md).") var sceneWeight: Float = 0
    @Option(help: "τ⁺ of the debiased contrastive loss (default 0.1; 0 gives plain NT-Xent).") var debias: Float?
    @Option(help: "Temperature of the contrastive loss (default 0.5).") var temperature: Float?
    @Option(help: "Scene regularisation on the frames of 1 view (prototypes from that view) or of both views.") var sceneViews: Int?
    @Option(help: "Temperature of the scene loss.") var sceneTemperature: Float?
    @Option(help: "Dropout probability in the encoder (default 0.1).") var dropout: Float?
    @Option(help: "Smallest span of the video a view covers, s_min in (0, 1] (default 0.5).") var minSpan: Float?
    @Option(help: "Feature-space spatial augmentation when there are no augmented copies: on or off (default on).")
    var featureAugmentation = "on"
    @Option(help: "AdamW weight decay (default 0.01).") var weightDecay: Float?
    @Option(help: "Hold out this many training videos as validation queries (the test split is not read).") var validation = 0
    @Option(help: "Write the evaluation as JSON to this file.") var json: String?
    @Option(help: "Training data: auto (memory if each rank's shard fits), memory (sharded across ranks) or stream (from disk).")
    var loading = "auto"
    @Option(help: "Run folder: checkpoints go to RUN_DIR/checkpoints (default runs/<dataset>).") var runDir: String?
    @Option(help: "Checkpoint every N optimizer steps (0: at epoch ends only; always on SIGTERM/SIGUSR1).") var checkpointEvery = 0
    @Option(help: "Checkpoints to keep (newest first).") var keepCheckpoints = 3
    @Option(help: "Where to start: none (refuses a run folder with checkpoints), auto (newest valid checkpoint), or a checkpoint file.")
    var resume = "none"
    @Option(help: "Stop with a checkpoint after this many optimizer steps in all (as a preemption would).") var stopAfter: Int?
    @Option(help: "Evaluate on the queries every N epochs during training (0: only at the end).") var evalEvery = 0
    @Flag(help: "Linear scaling rule: multiply --lr by (global batch / 64).") var scaleLr = false
    @Option(help: "Floats per gradient all-reduce (default: the whole buffer at once).") var gradientBucket: Int?
    @Flag(help: "Also evaluate the PCA-sign baseline on the same split (fitted on the training videos).") var pcaBaseline = false

    func validate() throws {
        guard steps > 0 else { throw ValidationError("--steps must be positive (got \(steps))") }
        guard clips > 0 else { throw ValidationError("--clips must be positive (got \(clips))") }
        guard frames >= 2 && frames <= 512 else { throw ValidationError("--frames must be in 2...512 (got \(frames))") }
        if let learningRate, !(learningRate > 0) { throw ValidationError("--lr must be positive (got \(learningRate))") }
        guard logEvery > 0 else { throw ValidationError("--log-every must be positive (got \(logEvery))") }
    }

    func run() throws {
        let comm = Communicator.world()
        defer { Communicator.finalize() }
        if let message = SlurmCheck.mismatch(worldSize: comm.size, environment: ProcessInfo.processInfo.environment) {
            FileHandle.standardError.write(Data("chain-train: \(message)\n".utf8))
            throw ExitCode(2)
        }
        if !toy {
            let epochs = epochsOption ?? (datasetConfig == nil && data == nil ? 6 : 50)
            guard let method = CHAINConfig.Mode(rawValue: mode) else { throw ValidationError("--mode must be chain or conmh (got \(mode))") }
            guard let loading = Loading(rawValue: loading) else { throw ValidationError("--loading must be auto, memory or stream (got \(self.loading))") }
            let dataset: DatasetConfig
            do {
                if let path = datasetConfig {
                    guard data == nil else { throw ValidationError("give --config or --data, not both") }
                    dataset = try DatasetConfig.load(path: path, rootOverride: root)
                } else if data == nil {
                    dataset = try DefaultRun.dataset(comm)
                } else {
                    let directory = root ?? data!
                    let shape = try VideoSet.shape(features: (directory as NSString).appendingPathComponent("\(name)_train_feats.h5"))
                    dataset = .publicLayout(name: name, root: directory, frames: shape.frames, featureSize: shape.featureSize)
                }
            } catch let error as ValidationError { throw error } catch {
                FileHandle.standardError.write(Data("chain-train: \(error)\n".utf8))
                throw ExitCode(2)
            }
            let features = (frames: dataset.frames, featureSize: dataset.featureSize)
            var config: CHAINConfig
            switch method {
            case .chain:
                config = CHAINConfig(featureSize: features.featureSize, maxFrames: features.frames, bits: bits, modelSize: modelSize,
                                     layers: layers, heads: heads, ffnSize: ffn, viewFrames: viewFrames)
                config.contrastiveWeight = contrastiveWeight
                config.orderWeight = orderWeight
                config.sceneWeight = sceneWeight
                if let debias {
                    guard debias >= 0 && debias < 1 else { throw ValidationError("--debias must be in [0, 1) (got \(debias))") }
                    config.contrastive.debiasPrior = debias > 0 ? debias : nil
                }
                if let temperature { config.contrastive.temperature = temperature }
                if let sceneViews {
                    guard sceneViews == 1 || sceneViews == 2 else { throw ValidationError("--scene-views must be 1 or 2") }
                    config.sceneOnBothViews = sceneViews == 2
                }
                if let sceneTemperature { config.scene.temperature = sceneTemperature }
            case .conmh:
                config = CHAINConfig.conmh(featureSize: features.featureSize, frames: features.frames, bits: bits, modelSize: modelSize,
                                           layers: layers, heads: heads, headSize: modelSize / heads, ffnSize: ffn)
            }
            if let minSpan {
                guard minSpan > 0 && minSpan <= 1 else { throw ValidationError("--min-span must be in (0, 1] (got \(minSpan))") }
                config.views.minimumSpan = minSpan
            }
            switch featureAugmentation {
            case "on": break
            case "off": config.augmentation = .identity
            default: throw ValidationError("--feature-augmentation must be on or off (got \(featureAugmentation))")
            }
            if let dropout {
                guard dropout >= 0 && dropout < 1 else { throw ValidationError("--dropout must be in [0, 1) (got \(dropout))") }
                config.encoder.dropout = dropout
            }
            var options = Trainer.Options()
            if let weightDecay {
                guard weightDecay >= 0 else { throw ValidationError("--weight-decay must be non-negative (got \(weightDecay))") }
                options.weightDecay = weightDecay
            }
            options.epochs = epochs
            options.batchSize = batch
            options.learningRate = learningRate ?? 1e-3
            options.seed = seed
            options.gradientBucket = gradientBucket
            if scaleLr { options.learningRate *= Float(batch) / 64 }
            guard evalEvery >= 0 else { throw ValidationError("--eval-every must be non-negative (got \(evalEvery))") }
            guard checkpointEvery >= 0 else { throw ValidationError("--checkpoint-every must be non-negative (got \(checkpointEvery))") }
            guard keepCheckpoints >= 1 else { throw ValidationError("--keep-checkpoints must be at least 1 (got \(keepCheckpoints))") }
            if let stopAfter, stopAfter < 1 { throw ValidationError("--stop-after must be positive (got \(stopAfter))") }
            let settings: [String: String] = [
                "dataset": dataset.name, "mode": config.mode.rawValue, "bits": "\(config.bits)", "batch": "\(batch)",
                "seed": "\(seed)", "epochs": "\(epochs)", "lr": "\(options.learningRate)",
                "model": "d\(config.encoder.modelSize) L\(config.encoder.layers) h\(config.encoder.heads) ffn\(config.encoder.ffnSize) views\(config.views.segments)",
                "weights": "c\(config.contrastiveWeight) o\(config.orderWeight) s\(config.sceneWeight)",
            ]
            var completed = true
            do {
                completed = try DatasetRun(dataset: dataset, config: config, options: options, validation: validation,
                                           topK: [5, 20, 40, 60, 80, 100], json: json,
                                           pcaBaseline: pcaBaseline || (datasetConfig == nil && data == nil), loading: loading,
                                           runDirectory: runDir ?? DefaultRun.runDirectory(dataset: dataset.name, builtIn: datasetConfig == nil && data == nil), checkpointEvery: checkpointEvery,
                                           keepCheckpoints: keepCheckpoints, resume: .init(resume), stopAfterStep: stopAfter, evaluateEvery: evalEvery,
                                           settings: settings).run(comm)
            } catch {
                let who = comm.size > 1 ? "chain-train (rank \(comm.rank))" : "chain-train"
                FileHandle.standardError.write(Data("\(who): \(error)\n".utf8))
                // Other ranks may be waiting in a collective: end the whole job.
                if comm.size > 1 { comm.abort(2) }
                throw ExitCode(2)
            }
            if !completed { throw ExitCode(CheckpointManager.preemptedExitCode) }
            return
        }
        guard clips % comm.size == 0 else {
            if comm.isRoot {
                FileHandle.standardError.write(Data("chain-train: --clips \(clips) is not divisible by the world size \(comm.size)\n".utf8))
            }
            throw ExitCode(2)
        }
        var options = ToyTrainer.Options()
        options.steps = steps
        options.globalClips = clips
        options.learningRate = learningRate ?? 3e-3
        options.seed = seed
        options.warmupSteps = min(20, steps / 10)
        options.toy.frames = frames
        let trainer = ToyTrainer(options)
        if comm.isRoot {
            print("chain-train: frame-order toy task · \(comm.size) rank(s) · \(trainer.toy.store.parameterCount) parameters")
            print("  clips/step \(clips) (\(clips / comm.size) per rank) · frames \(frames) · steps \(steps) · chance loss \(String(format: "%.3f", log(Double(frames))))")
        }
        let start = Date()
        let final = trainer.train(comm) { p in
            guard comm.isRoot, p.step % logEvery == 0 || p.step == 1 || p.step == steps else { return }
            let elapsed = Date().timeIntervalSince(start)
            print(String(format: "  step %5d/%d  loss %.4f  frame accuracy %5.1f%%  lr %.2e  %.0f clips/s",
                         p.step, steps, p.loss, 100 * p.accuracy, p.learningRate,
                         Double(p.step * clips) / max(elapsed, 1e-9)))
            fflush(nil)
        }
        if comm.isRoot {
            print(String(format: "done in %.1f s: loss %.4f (chance %.3f), frame accuracy %.1f%%",
                         Date().timeIntervalSince(start), final.loss, log(Double(frames)), 100 * final.accuracy))
        }
        if let requireAccuracy, final.accuracy < requireAccuracy {
            if comm.isRoot { print("chain-train: accuracy \(final.accuracy) below the required \(requireAccuracy)") }
            throw ExitCode(1)
        }
    }
}
