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
/// Resolves a run config (YAML file, shorthand flags, section.key=value overrides), trains
/// CHAIN (or ConMH mode) data-parallel under MPI with checkpoints and exact resume, and
/// evaluates; with no arguments, on a generated synthetic set. `--toy` runs the engine's
/// frame-order toy task instead.
@main
struct ChainTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chain-train",
        abstract: "Train CHAIN on a dataset and report retrieval mAP.",
        discussion: """
            With no arguments, generates (once) a small synthetic dataset in runs/default/data and trains CHAIN on it for 6 epochs (a few minutes on 2 cores). With --config (a run config in configs/, or a dataset config in configs/datasets/) it trains on that dataset; section.key=value arguments override any setting of the run config.

            Examples:
              chain-train
              chain-train --config configs/mmnist.yaml model.bits=32
              launch/mpirun-local 4 --config configs/ucf101.yaml --resume auto

            Run directly for one process, or under MPI for data-parallel training. The global batch is split evenly over the ranks, so any world size that divides it trains the same model. SIGTERM or SIGUSR1 writes a checkpoint and exits with status 75; --resume auto continues exactly. The run folder gets config.yaml, metrics.jsonl, eval/, plots/, report.md and checkpoints/. --toy runs the engine's frame-order toy task instead.
            """)

    @Argument(help: ArgumentHelp("Overrides of the run config, section.key=value (e.g. model.bits=32 training.epochs=60).",
                                 valueName: "key=value"))
    var overrides: [String] = []

    @Option(name: .customLong("config"), help: "Run config (YAML, configs/*.yaml) or a dataset config (configs/datasets/*.yaml).")
    var configPath: String?
    @Option(help: "Folder of the dataset's files (replaces the dataset config's root).") var root: String?
    @Option(help: "Dataset folder in the UCF101 layout ({name}_train_feats.h5, …), instead of a dataset config.") var data: String?
    @Option(help: "File-name prefix inside --data.") var name = "mmnist"

    // Shorthands for common overrides (the key=value form reaches every setting).
    @Option(help: "model.mode: chain or conmh.") var mode: String?
    @Option(help: "model.bits, the code length.") var bits: Int?
    @Option(name: .customLong("epochs"), help: "training.epochs.") var epochsOption: Int?
    @Option(help: "training.batch, the global batch in videos.") var batch: Int?
    @Option(name: .customLong("lr"), help: "training.lr, the peak learning rate (toy task: default 3e-3).") var learningRate: Float?
    @Option(help: "training.seed.") var seed: UInt64?
    @Option(help: "evaluation.validation: hold out this many training videos as validation queries.") var validation: Int?
    @Flag(help: "evaluation.pca_baseline: also evaluate the PCA-sign baseline.") var pcaBaseline = false

    @Option(help: "Run folder (default runs/<name>): config.yaml and checkpoints/ go there.") var runDir: String?
    @Option(help: "Where to start: none (refuses a run folder with checkpoints), auto (newest valid checkpoint), or a checkpoint file.")
    var resume = "none"
    @Option(help: "Stop with a checkpoint after this many optimizer steps in all (as a preemption would).") var stopAfter: Int?
    @Option(help: "Write the final evaluation as JSON to this file.") var json: String?
    @Flag(help: "Print the resolved run config and exit.") var printConfig = false

    @Flag(help: "Run the engine's frame-order toy task (seconds) instead of CHAIN.") var toy = false
    @Option(help: "Toy task: optimizer steps.") var steps = 800
    @Option(help: "Toy task: global batch in clips.") var clips = 64
    @Option(help: "Toy task: frames per clip.") var frames = 16
    @Option(help: "Toy task: print a progress line every N steps.") var logEvery = 50
    @Option(help: "Toy task: fail unless the final frame accuracy reaches this fraction.") var requireAccuracy: Double?

    func validate() throws {
        guard steps > 0 else { throw ValidationError("--steps must be positive (got \(steps))") }
        guard clips > 0 else { throw ValidationError("--clips must be positive (got \(clips))") }
        guard frames >= 2 && frames <= 512 else { throw ValidationError("--frames must be in 2...512 (got \(frames))") }
        if let learningRate, !(learningRate > 0) { throw ValidationError("--lr must be positive (got \(learningRate))") }
        guard logEvery > 0 else { throw ValidationError("--log-every must be positive (got \(logEvery))") }
        if let stopAfter, stopAfter < 1 { throw ValidationError("--stop-after must be positive (got \(stopAfter))") }
    }

    /// The run config: defaults ← file ← shorthand flags ← key=value overrides.
    func resolveRun() throws -> RunConfig {
        var file = configPath
        var shorthand: [String] = []
        // A dataset config given directly becomes the run's dataset (with default settings).
        if let path = configPath, DatasetConfig.isDatasetConfig(path) {
            file = nil
            shorthand.append("dataset=\(URL(fileURLWithPath: path).standardizedFileURL.path)")
            shorthand.append("training.epochs=50")
        }
        if data != nil { shorthand.append("training.epochs=50") }
        if let mode { shorthand.append("model.mode=\(mode)") }
        if let bits { shorthand.append("model.bits=\(bits)") }
        if let epochsOption { shorthand.append("training.epochs=\(epochsOption)") }
        if let batch { shorthand.append("training.batch=\(batch)") }
        if let learningRate { shorthand.append("training.lr=\(learningRate)") }
        if let seed { shorthand.append("training.seed=\(seed)") }
        if let validation { shorthand.append("evaluation.validation=\(validation)") }
        if pcaBaseline { shorthand.append("evaluation.pca_baseline=true") }
        var run = try RunConfig.resolve(path: file, overrides: shorthand + overrides)
        if run.dataset == "synthetic" && data == nil && file == nil && configPath == nil && !overrides.contains(where: { $0.hasPrefix("evaluation.pca_baseline=") }) {
            run.evaluation.pcaBaseline = true   // the built-in demo shows the baseline it beats
        }
        return run
    }

    func run() throws {
        let comm = Communicator.world()
        defer { Communicator.finalize() }
        if let message = SlurmCheck.mismatch(worldSize: comm.size, environment: ProcessInfo.processInfo.environment) {
            FileHandle.standardError.write(Data("chain-train: \(message)\n".utf8))
            throw ExitCode(2)
        }
        if !toy {
            var completed = true
            do {
                let run = try resolveRun()
                if printConfig {
                    if comm.isRoot { print(try run.yaml(), terminator: "") }
                    return
                }
                let dataset: DatasetConfig
                if let data {
                    let directory = root ?? data
                    let shape = try VideoSet.shape(features: (directory as NSString).appendingPathComponent("\(name)_train_feats.h5"))
                    dataset = .publicLayout(name: name, root: directory, frames: shape.frames, featureSize: shape.featureSize)
                } else if run.dataset == "synthetic" {
                    dataset = try DefaultRun.dataset(comm)
                } else {
                    dataset = try DatasetConfig.load(path: run.dataset, rootOverride: root)
                }
                let runName = run.name.isEmpty ? dataset.name : run.name
                let directory = runDir ?? (run.dataset == "synthetic" && data == nil && run.name.isEmpty
                    ? DefaultRun.runDirectory(dataset: dataset.name, builtIn: true) : "runs/\(runName)")
                if comm.isRoot {
                    print("chain-train: run config (resolved; saved as \(directory)/config.yaml):")
                    print(try run.yaml().split(separator: "\n").map { "  | " + $0 }.joined(separator: "\n"))
                }
                completed = try DatasetRun(dataset: dataset, run: run, runDirectory: directory, json: json,
                                           resume: .init(resume), stopAfterStep: stopAfter).run(comm)
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
        options.seed = seed ?? 1
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
