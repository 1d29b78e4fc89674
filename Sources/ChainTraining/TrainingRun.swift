import ChainData
import ChainDistributed
import ChainEvaluation
import ChainModel
import ChainNumerics
import ChainReport
import Foundation

/// A training run on a configured dataset, as `chain-train` runs it: the loading policy,
/// checkpoints and resume, evaluation during and after training, and the run folder
/// (config.yaml, metrics.jsonl, eval/, plots/, report.md). With `evaluation.validation` > 0,
/// held-out training videos query the rest instead (the test queries are not read).
///
/// Collective: every rank calls `start` with the same arguments. Tests drive it in-process.
public final class TrainingRun {
    /// The PCA-sign baseline's result on the evaluated split, once computed (drawn beside the
    /// run's mAP@K and precision@K curves).
    var pcaBaselineResult: RetrievalEvaluation.Result?
    /// How a run ended.
    public struct Result: Sendable {
        /// false when a stop signal (or `stopAfterStep`) ended training early with a checkpoint.
        public var completed: Bool
        /// The final evaluation (rank 0, completed runs).
        public var evaluation: RetrievalEvaluation.Result?
        /// CRC-32 of the final parameters (completed runs; equal = bit-identical models).
        public var parameterChecksum: UInt32?
        /// Seconds of training in this call.
        public var seconds: Double
    }

    public let dataset: DatasetConfig
    /// The resolved run config (model, objectives, optimisation, checkpoints, evaluation).
    public let run: RunConfig
    /// RUN_DIR: config.yaml, checkpoints/ and the run folder's artefacts go there.
    public let directory: String
    /// Where training starts.
    public var resume = CheckpointManager.Resume.none
    /// Stop with a checkpoint after this many optimizer steps in all (tests, trying preemption).
    public var stopAfterStep: Int?
    /// Write the final evaluation as JSON here.
    public var resultFile: String?
    /// Rank 0's console lines (default: standard output, flushed).
    public var log: (String) -> Void = {
        print($0); fflush(nil)
    }
    /// Whether rank 0 shows a live progress bar on a terminal.
    public var showsProgress = true
    /// What turns signals into a stop with a checkpoint (default: SIGTERM and SIGUSR1, set
    /// up when the run starts). Tests pass `StopRequest(signals: [])` and call `request()`.
    public var stop: StopRequest?

    public init(dataset: DatasetConfig, run: RunConfig, directory: String) {
        self.dataset = dataset
        self.run = run
        self.directory = directory
    }

    /// The model and objectives, for this dataset's T × F.
    public var config: CHAINConfig { run.chainConfig(frames: dataset.frames, featureSize: dataset.featureSize) }
    var topK: [Int] { run.evaluation.topK }

    /// Why ranks can disagree about a file: every rank reads the run config and the dataset's
    /// files from the same path, which on several nodes means a filesystem they all share.
    public static let sharedFilesNote =
        "Every rank reads the run config and the dataset's files from the same path: on several nodes they "
        + "must be on a filesystem that every node mounts at that path (docs/distributed.md, \"Several nodes\")"

    /// Trains and evaluates.
    @discardableResult
    public func start(_ comm: Communicator) throws -> Result {
        var options = run.trainerOptions
        options.threads = LaunchEnvironment().computeThreads(requested: options.threads, worldSize: comm.size)
        // Cheap checks on every rank (same files, so all ranks agree); values are checked as they are read.
        let splits = try comm.agree(partialNote: Self.sharedFilesNote) {
            try DatasetValidator(config: dataset, worldSize: comm.size, scanValues: false).validate()
        }
        if run.evaluation.validation > 0 { return try startValidationSplit(comm, options: options) }
        let data = try TrainingData(
            dataset: dataset, loading: run.training.loading, useCopies: run.views.augmentedCopies,
            batch: options.batchSize,
            seed: options.seed, comm: comm)
        let config = self.config
        let trainer = Trainer(config: config, options: options, comm: comm)
        if comm.isRoot {
            log(banner(config, videos: data.describeVideos, comm: comm, parameters: trainer.model.store.parameterCount))
            log("  launch: \(comm.size) rank(s); rank 0 on \(LaunchEnvironment().description)")
            log(
                "  data: \(data.describeLoading) · \(data.sampler.stepsPerEpoch) steps/epoch · evaluation: "
                    + "\(splits.query.videos) queries against \(splits.database.videos) database videos")
            if run.evaluation.pcaBaseline { try logPCABaseline(bits: config.bits) }  // holds the splits in memory
        }
        let checkpoints = CheckpointManager(
            directory: (directory as NSString).appendingPathComponent("checkpoints"),
            every: run.checkpoints.every, keep: run.checkpoints.keep,
            settings: run.flattened.merging([
                "data.frames": "\(dataset.frames)",
                "data.feature_size": "\(dataset.featureSize)",
            ]) { a, _ in a },
            mustMatch: run.resumeInvariantKeys, comm: comm, stop: stop ?? StopRequest()
        ) { [log] in log($0) }
        checkpoints.stopAfterStep = stopAfterStep
        checkpoints.configText = try run.yaml()
        let position = try checkpoints.start(trainer, resume: resume)
        try saveConfig(comm)
        let evaluation = try TestEvaluation(dataset: dataset, labels: splits, topK: topK, comm: comm, log: log)
        let recorder = comm.isRoot ? try RunRecorder(directory: directory) : nil
        let progress = ProgressBar(
            total: options.epochs * data.sampler.stepsPerEpoch,
            first: data.sampler.globalStep(position), epochs: options.epochs,
            stepsPerEpoch: data.sampler.stepsPerEpoch, batch: options.batchSize,
            enabled: comm.isRoot && showsProgress)
        let start = ContinuousClock.now
        var lastStep = start
        let outcome = try trainer.train(
            data.source, sampler: data.sampler, from: position,
            report: { r in
                progress.clear()
                if comm.isRoot { log(Self.describe(r, config: config, epochs: options.epochs, frames: dataset.frames)) }
                let losses = MetricsRecord.Losses(
                    total: r.total, contrastive: r.contrastive, order: r.order, scene: r.scene,
                    reconstruction: r.reconstruction)
                recorder?.log(
                    .epoch(
                        epoch: r.epoch, step: r.epoch * data.sampler.stepsPerEpoch, losses: losses,
                        orderAccuracy: r.orderAccuracy, orderChance: Self.orderChance(config, frames: dataset.frames),
                        scenesPerView: r.scenesPerVideo, seconds: r.seconds, learningRate: Double(r.learningRate)))
            },
            afterStep: { event in
                // The step's global losses (one small all-reduce) for metrics.jsonl and the progress bar.
                let l = event.losses.allReduced(comm)
                let now = ContinuousClock.now
                let rate = Double(options.batchSize) / max((now - lastStep).seconds, 1e-9)
                lastStep = now
                let losses = MetricsRecord.Losses(
                    total: l.total, contrastive: l.contrastive, order: l.order, scene: l.scene,
                    reconstruction: l.reconstruction)
                recorder?.log(
                    .step(
                        step: event.globalStep, epoch: event.epoch + 1, learningRate: Double(event.learningRate),
                        losses: losses, videosPerSecond: rate))
                progress.step(event.globalStep, epoch: event.epoch + 1, loss: l.total)
                let decision = try checkpoints.afterStep(trainer, event)
                let epoch = event.epoch + 1, every = run.evaluation.every
                if decision == .proceed, event.endsEpoch, every > 0, epoch % every == 0, epoch < options.epochs,
                    let r = try evaluation.evaluate(trainer.encoder)
                {
                    progress.clear()
                    log("  evaluation after epoch \(epoch): " + Self.describe(r, topK: topK))
                    try recorder?.evaluation(
                        r, bits: config.bits, epoch: epoch, step: event.globalStep,
                        name: String(format: "epoch-%04d", epoch))
                }
                return decision
            })
        progress.clear()
        let seconds = (ContinuousClock.now - start).seconds
        if case .stopped = outcome { return Result(completed: false, seconds: seconds) }
        let final = try evaluation.evaluateKeepingQueryCodes(trainer.encoder, cutoffs: evaluation.curveCutoffs)
        let result = final?.result
        let nearDuplicates =
            run.evaluation.nearDuplicates
            ? try NearDuplicateEvaluation(dataset: dataset, topK: topK) : nil
        let near = try nearDuplicates?.evaluate(trainer.encoder, comm: comm)
        let checksum = trainer.parameterChecksum()
        guard comm.isRoot, let result, let recorder else {
            return Result(completed: true, parameterChecksum: checksum, seconds: seconds)
        }
        log(String(format: "final parameters: crc32 %08x (equal crc32 = bit-identical models)", checksum))
        try report(result, near: near, nearDescription: nearDuplicates?.description, seconds: seconds, split: "test")
        let steps = options.epochs * data.sampler.stepsPerEpoch
        try recorder.evaluation(
            result, bits: config.bits, epoch: options.epochs, step: steps, name: "final", loggedCutoffs: topK)
        if let near {
            try recorder.evaluation(
                near, bits: config.bits, epoch: options.epochs, step: steps,
                name: "near-duplicates", logged: false)
        }
        if let pcaBaselineResult {  // for chain-report, which redraws the curves with it
            try recorder.evaluation(
                pcaBaselineResult, bits: config.bits, epoch: options.epochs, step: steps, name: "pca-sign",
                logged: false)
        }
        let files = try recorder.finish(
            final: result, baseline: pcaBaselineResult, topK: topK,
            codeMap: final.map {
                CodeMap.chart($0.queryCodes, classes: evaluation.queryLabels.firstClasses, seed: options.seed)
            },
            bits: config.bits,
            title: "CHAIN run \((directory as NSString).lastPathComponent)",
            summary: [
                "dataset: \(dataset.name) (\(data.describeVideos)), "
                    + "\(splits.query.videos) queries against \(splits.database.videos)",
                "mode \(config.mode.rawValue), \(config.bits) bits, \(trainer.model.store.parameterCount) parameters, "
                    + "\(comm.size) rank(s)",
                String(format: "trained %d epochs in %.0f s this session", options.epochs, seconds),
            ],
            config: try run.yaml())
        log("run folder \(directory): config.yaml, metrics.jsonl, eval/, " + files.joined(separator: ", "))
        return Result(completed: true, evaluation: result, parameterChecksum: checksum, seconds: seconds)
    }

    /// The run's first line: mode, dataset, videos, ranks, parameters, bits.
    func banner(_ config: CHAINConfig, videos: String, comm: Communicator, parameters: Int) -> String {
        "chain-train: \(config.mode.rawValue) · \(dataset.name) · \(videos) · \(comm.size) rank(s) · "
            + "\(parameters) parameters · \(config.bits) bits"
    }

    /// Saves the resolved config as RUN_DIR/config.yaml (rank 0; atomically).
    func saveConfig(_ comm: Communicator) throws {
        guard comm.isRoot else { return }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = (directory as NSString).appendingPathComponent("config.yaml")
        try Data(("# Resolved by chain-train; rerun with: chain-train --config \(path)\n" + (try run.yaml())).utf8)
            .write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// One epoch's console line.
    static func describe(_ r: Trainer.EpochReport, config: CHAINConfig, epochs: Int, frames: Int) -> String {
        // Only the terms that are on: a term with weight 0 is neither trained nor shown.
        var terms: [String] = []
        if config.contrastiveWeight > 0 { terms.append(String(format: "contrastive %.4f", r.contrastive)) }
        if config.mode == .chain && config.orderWeight > 0 {
            let chance = 100 * Self.orderChance(config, frames: frames)
            terms.append(String(format: "order %.4f [%.0f%%, chance %.0f%%]", r.order, 100 * r.orderAccuracy, chance))
        }
        if config.mode == .chain && config.sceneWeight > 0 {
            terms.append(String(format: "scene %.4f [%.1f scenes/view]", r.scene, r.scenesPerVideo))
        }
        if config.reconstructionWeight > 0 { terms.append(String(format: "reconstruction %.4f", r.reconstruction)) }
        let line =
            String(format: "  epoch %3d/%d  loss %.4f", r.epoch, epochs, r.total)
            + (terms.isEmpty ? "" : " (" + terms.joined(separator: ", ") + ")")
        return line + String(format: "  lr %.2e  %.1f s", r.learningRate, r.seconds)
    }

    /// The order head's chance accuracy: one of the view's L ranks, or of the video's T positions.
    static func orderChance(_ config: CHAINConfig, frames: Int) -> Double {
        1 / Double(config.orderTarget == .rank ? config.views.viewLength : frames)
    }

    /// "mAP@5 0.1234 … mAP@all 0.1234".
    static func describe(_ r: RetrievalEvaluation.Result, topK: [Int]) -> String {
        topK.map { String(format: "mAP@%d %.4f", $0, r.mapAtK[$0]!) }.joined(separator: " ")
            + String(format: " mAP@all %.4f", r.mapAll)
    }

    /// The final table (and the near-duplicate one), and the result file when asked for.
    func report(
        _ result: RetrievalEvaluation.Result, near: RetrievalEvaluation.Result?, nearDescription: String?,
        seconds: Double, split: String
    ) throws {
        let config = self.config
        log(String(format: "trained in %.0f s", seconds))
        logTable(result, topK: topK)
        if let near, let nearDescription {
            log("near-duplicate retrieval: \(nearDescription)")
            logTable(near, topK: topK.filter { near.mapAtK[$0] != nil })
        }
        if let resultFile {
            let summary = RunResultFile(
                result, near: near, topK: topK, config: config, seconds: seconds, split: split, dataset: dataset.name)
            try summary.write(to: resultFile)
        }
    }

    /// "| bits | mAP@5 | … | mAP@all |" and the row of `r`.
    func logTable(_ r: RetrievalEvaluation.Result, topK: [Int]) {
        log("| bits | " + topK.map { "mAP@\($0)" }.joined(separator: " | ") + " | mAP@all |")
        log("|---|" + topK.map { _ in "---|" }.joined() + "---|")
        log(
            "| \(config.bits) | " + topK.map { String(format: "%.4f", r.mapAtK[$0]!) }.joined(separator: " | ")
                + String(format: " | %.4f |", r.mapAll))
    }

    /// Model selection without the test split: `evaluation.validation` training videos (a
    /// fixed random choice) query the others; every rank holds the training set in memory.
    func startValidationSplit(_ comm: Communicator, options: Trainer.Options) throws -> Result {
        let split = try ValidationSplit(
            dataset: dataset, held: run.evaluation.validation,
            useCopies: run.views.augmentedCopies, nearDuplicates: run.evaluation.nearDuplicates)
        let config = self.config
        guard split.train.featureSize == config.encoder.inputSize else {
            throw DataError(
                "\(dataset.path(dataset.train.features)): features are \(split.train.featureSize)-d, "
                    + "the model expects \(config.encoder.inputSize)")
        }
        let trainer = Trainer(config: config, options: options, comm: comm)
        if comm.isRoot {
            let videos =
                "\(split.train.count) training videos × \(split.train.frames) frames × \(split.train.featureSize)"
            log(banner(config, videos: videos, comm: comm, parameters: trainer.model.store.parameterCount))
            if let copies = split.copies { log("  views read \(copies.copies) augmented copies per training video") }
            log(
                "  evaluation: \(split.queries.count) held-out validation queries against \(split.train.count) "
                    + "database videos"
            )
            if run.evaluation.pcaBaseline {
                let pca = logPCABaseline(
                    train: split.train, queries: split.queries, database: split.train, bits: config.bits)
                if let near = split.nearDuplicates(topK: topK, encode: { pca.encode($0) }) {
                    log("  PCA-sign baseline, near-duplicates: " + Self.describe(near, topK: near.mapAtK.keys.sorted()))
                }
            }
        }
        let start = ContinuousClock.now
        trainer.train(split.train, augmented: split.copies) { [log] r in
            if comm.isRoot { log(Self.describe(r, config: config, epochs: options.epochs, frames: dataset.frames)) }
        }
        let seconds = (ContinuousClock.now - start).seconds
        let checksum = trainer.parameterChecksum()
        guard comm.isRoot else { return Result(completed: true, parameterChecksum: checksum, seconds: seconds) }
        let result = trainer.encoder.evaluate(queries: split.queries, database: split.train, topK: topK)
        let encoder = trainer.encoder
        let near = split.nearDuplicates(topK: topK, encode: { encoder.encode($0) })
        try report(
            result, near: near, nearDescription: split.nearDuplicateDescription, seconds: seconds,
            split: "validation")
        return Result(completed: true, evaluation: result, parameterChecksum: checksum, seconds: seconds)
    }

    /// The PCA-sign baseline on the test split (all three splits in memory: for small sets).
    func logPCABaseline(bits: Int) throws {
        let train = try VideoSet.load(features: dataset.path(dataset.train.features), key: dataset.train.featureKey)
        let queries = try VideoSet.load(
            features: dataset.path(dataset.query.features), key: dataset.query.featureKey,
            labels: dataset.path(dataset.query.labels!), labelKeys: dataset.query.labelKeys)
        let database = try VideoSet.load(
            features: dataset.path(dataset.database.features),
            key: dataset.database.featureKey, labels: dataset.path(dataset.database.labels!),
            labelKeys: dataset.database.labelKeys)
        let pca = logPCABaseline(train: train, queries: queries, database: database, bits: bits)
        if run.evaluation.nearDuplicates,
            let near = try NearDuplicateEvaluation(dataset: dataset, topK: topK)
        {
            let r = try near.pcaSign(pca, train: train)
            log("  PCA-sign baseline, near-duplicates: " + Self.describe(r, topK: r.mapAtK.keys.sorted()))
        }
    }

    /// The PCA-sign baseline (fitted on the training videos) on the same queries and database;
    /// returns the fitted baseline.
    @discardableResult
    func logPCABaseline(train: VideoSet, queries: VideoSet, database: VideoSet, bits: Int) -> PCASignBaseline {
        let pca = train.features.withUnsafeBufferPointer {
            PCASignBaseline(
                fit: $0.baseAddress!, videos: train.count, frames: train.frames,
                featureSize: train.featureSize, bits: bits)
        }
        let q = queries.features.withUnsafeBufferPointer {
            pca.encode($0.baseAddress!, videos: queries.count, frames: queries.frames)
        }
        let d = database.features.withUnsafeBufferPointer {
            pca.encode($0.baseAddress!, videos: database.count, frames: database.frames)
        }
        let r = RetrievalEvaluation.evaluate(
            queries: q, database: d, queryLabels: queries.labels!,
            databaseLabels: database.labels!, topK: CurveCutoffs.forDatabase(of: database.count, table: topK))
        log("  PCA-sign baseline on the same split: " + Self.describe(r, topK: topK))
        pcaBaselineResult = r
        return pca
    }
}
