import ArgumentParser
import ChainCLI
import ChainData
import ChainDistributed
import ChainModel
import ChainTraining
import Foundation

/// `chain-train`: the training entry point.
///
/// Resolves a run config (YAML file, shorthand flags, section.key=value overrides), trains
/// CHAIN (or ConMH mode) data-parallel under MPI with checkpoints and exact resume, and
/// evaluates (`TrainingRun`); with no arguments, on a generated synthetic set.
/// `chain-train toy` runs the engine's frame-order toy task instead.
@main
struct ChainTrain: ChainTool {
    static let configuration = CommandConfiguration(
        commandName: "chain-train",
        abstract: "Train CHAIN on a dataset and report retrieval mAP.",
        discussion: """
            With no arguments, generates (once) a small synthetic dataset in runs/default/data and trains CHAIN on it \
            for 6 epochs (a few minutes on 2 cores). With --config (a run config in configs/, or a dataset config in \
            configs/datasets/) it trains on that dataset; section.key=value arguments override any setting of the run \
            config.

            Examples:
              chain-train
              chain-train --config configs/mmnist.yaml model.bits=32
              launch/mpirun-local 4 --config configs/ucf101.yaml --resume auto
              chain-train toy --steps 400

            Run directly for one process, or under MPI for data-parallel training. The global batch is split evenly \
            over the ranks, so any world size that divides it trains the same model. SIGTERM or SIGUSR1 writes a \
            checkpoint and exits with status 75; --resume auto continues exactly. The run folder gets config.yaml, \
            metrics.jsonl, eval/, plots/, report.md and checkpoints/.

            chain-train toy trains the engine's frame-order toy task instead (seconds); chain-train toy --help lists \
            its options.
            """)

    @Argument(
        help: ArgumentHelp(
            "Overrides of the run config, section.key=value (e.g. model.bits=32 training.epochs=60).",
            valueName: "key=value"))
    var overrides: [String] = []

    @Option(
        name: .customLong("config"),
        help: "Run config (YAML, configs/*.yaml) or a dataset config (configs/datasets/*.yaml).")
    var configPath: String?
    @Option(help: "Folder of the dataset's files (replaces the dataset config's root).") var root: String?
    @Option(help: "Dataset folder in the UCF101 layout ({name}_train_feats.h5, …), instead of a dataset config.")
    var data: String?
    @Option(help: "File-name prefix inside --data.") var name = "mmnist"

    // Shorthands for common overrides (the key=value form reaches every setting).
    @Option(help: "model.mode: chain or conmh.", transform: choice("--mode")) var mode: CHAINConfig.Mode?
    @Option(help: "model.bits, the code length.") var bits: Int?
    @Option(name: .customLong("epochs"), help: "training.epochs.") var epochsOption: Int?
    @Option(help: "training.batch, the global batch in videos.") var batch: Int?
    @Option(name: .customLong("lr"), help: "training.lr, the peak learning rate.") var learningRate: Float?
    @Option(help: "training.seed.") var seed: UInt64?
    @Option(help: "evaluation.validation: hold out this many training videos as validation queries.")
    var validation: Int?
    @Flag(help: "evaluation.pca_baseline: also evaluate the PCA-sign baseline.") var pcaBaseline = false

    @Option(help: "Run folder (default runs/<name>): config.yaml and checkpoints/ go there.") var runDir: String?
    @Option(help: "Where to start: none (refuse a folder with checkpoints), auto (newest valid one), or a file.")
    var resume = CheckpointManager.Resume.none
    @Option(help: "Stop with a checkpoint after this many optimizer steps in all (as a preemption would).")
    var stopAfter: Int?
    @Option(help: "Write the final evaluation as JSON to this file.") var json: String?
    @Flag(help: "Print the resolved run config and exit.") var printConfig = false
    @Option(
        help: ArgumentHelp(
            "Under MPI, end the job when one collective waits longer than this (a lost node or link); 0: never.",
            valueName: "seconds"))
    var collectiveTimeout = 600.0

    /// `chain-train toy …` runs the toy task; anything else is a training run. (The run's
    /// positional key=value overrides would otherwise take the word `toy` for one.)
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "toy" { Toy.runTool(Array(arguments.dropFirst())) } else { runTool(arguments) }
    }

    func validate() throws {
        if let learningRate, !(learningRate > 0) {
            throw ValidationError("--lr must be positive (got \(learningRate))")
        }
        if !(collectiveTimeout >= 0) {
            throw ValidationError(
                "--collective-timeout must be 0 (off) or a number of seconds (got \(collectiveTimeout))")
        }
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
        if let mode { shorthand.append("model.mode=\(mode.rawValue)") }
        if let bits { shorthand.append("model.bits=\(bits)") }
        if let epochsOption { shorthand.append("training.epochs=\(epochsOption)") }
        if let batch { shorthand.append("training.batch=\(batch)") }
        if let learningRate { shorthand.append("training.lr=\(learningRate)") }
        if let seed { shorthand.append("training.seed=\(seed)") }
        if let validation { shorthand.append("evaluation.validation=\(validation)") }
        if pcaBaseline { shorthand.append("evaluation.pca_baseline=true") }
        var run = try RunConfig.resolve(path: file, overrides: shorthand + overrides)
        let builtIn = run.dataset == "synthetic" && data == nil && file == nil && configPath == nil
        if builtIn && !overrides.contains(where: { $0.hasPrefix("evaluation.pca_baseline=") }) {
            run.evaluation.pcaBaseline = true  // the built-in demo shows the baseline it beats
        }
        if builtIn && !overrides.contains(where: { $0.hasPrefix("evaluation.every=") }) {
            run.evaluation.every = 1  // cheap on the built-in set: plots/map.svg shows a learning curve
        }
        return run
    }

    /// The dataset the run trains on: --data's folder, the built-in synthetic set, or the run's config.
    func dataset(for run: RunConfig, _ comm: Communicator) throws -> DatasetConfig {
        if let data {
            let directory = root ?? data
            let features = (directory as NSString).appendingPathComponent("\(name)_train_feats.h5")
            let shape = try VideoSet.shape(features: features)
            return .publicLayout(name: name, root: directory, frames: shape.frames, featureSize: shape.featureSize)
        }
        if run.dataset == "synthetic" { return try DefaultRun.dataset(comm) }
        return try DatasetConfig.load(path: run.dataset, rootOverride: root)
    }

    func run() throws {
        let comm = Communicator.world()
        defer { Communicator.finalize() }
        if comm.size > 1 && collectiveTimeout > 0 {
            let limit =
                collectiveTimeout.rounded() == collectiveTimeout ? "\(Int(collectiveTimeout))" : "\(collectiveTimeout)"
            comm.watchdog = CollectiveWatchdog(limit: .seconds(collectiveTimeout)) { [rank = comm.rank] in
                "chain-train (rank \(rank) on host \(HostName.current)): \($0) has waited "
                    + "\(Int($1.components.seconds)) s for the other ranks (--collective-timeout "
                    + "\(limit)): a rank or the network between the ranks is lost. The "
                    + "checkpoints written so far are intact; --resume auto continues from the newest."
            }
        }
        if let message = SlurmCheck.mismatch(worldSize: comm.size, environment: ProcessInfo.processInfo.environment) {
            throw toolFailure("chain-train", ConfigError(message), status: 2)
        }
        let result: TrainingRun.Result
        do {
            let run = try comm.agree(partialNote: TrainingRun.sharedFilesNote) { try resolveRun() }
            if printConfig {
                if comm.isRoot { print(try run.yaml(), terminator: "") }
                return
            }
            let builtIn = run.dataset == "synthetic" && data == nil  // generated by rank 0, then agreed
            let dataset =
                try builtIn
                ? self.dataset(for: run, comm)
                : comm.agree(partialNote: TrainingRun.sharedFilesNote) { try self.dataset(for: run, comm) }
            let runName = run.name.isEmpty ? dataset.name : run.name
            let defaultFolder = builtIn && run.name.isEmpty
            let directory =
                runDir ?? (defaultFolder ? DefaultRun.runDirectory(resume: resume, comm) : "runs/\(runName)")
            if comm.isRoot {
                print("chain-train: run config (resolved; saved as \(directory)/config.yaml):")
                print(try run.yaml().split(separator: "\n").map { "  | " + $0 }.joined(separator: "\n"))
            }
            let training = TrainingRun(dataset: dataset, run: run, directory: directory)
            training.resume = resume
            training.stopAfterStep = stopAfter
            training.resultFile = json
            result = try training.start(comm)
        } catch {
            throw toolFailure("chain-train", error, comm: comm, status: 2)
        }
        if !result.completed { throw ExitCode(CheckpointManager.preemptedExitCode) }
    }
}
