import ChainData
import ChainDistributed
import ChainEvaluation
import ChainModel
import ChainNumerics
import ChainReport
import ChainTraining
import Foundation

/// How the training features get into memory (docs/data.md).
enum Loading: String, CaseIterable {
    /// Memory when every rank's shard fits in half the physical memory, else streaming.
    case auto
    /// Each rank holds its shard; batches are swapped between ranks (`ShardedSource`).
    case memory
    /// Batches are read from disk one step ahead (`StreamingSource`).
    case stream
}

/// Training on a configured dataset (a `DatasetConfig`: YAML, or the UCF101-style layout of
/// --data/--name), then retrieval evaluation: queries against the database — or, with a
/// validation split, held-out training videos against the rest (queries are then not read).
struct DatasetRun {
    var dataset: DatasetConfig
    /// The resolved run config (model, objectives, optimisation, checkpoints, evaluation).
    var run: RunConfig
    /// runs/<name>: config.yaml and checkpoints/ go there.
    var runDirectory: String
    var json: String?
    var resume = CheckpointManager.Resume.none
    var stopAfterStep: Int?

    var config: CHAINConfig {
        var c = run.chainConfig(frames: dataset.frames, featureSize: dataset.featureSize)
        c.encoder.maxPositions = max(c.encoder.maxPositions, dataset.frames)
        return c
    }
    var options: Trainer.Options {
        var o = run.trainerOptions
        o.threads = LaunchEnvironment().computeThreads(requested: o.threads, worldSize: Communicator.world().size)
        return o
    }
    var validation: Int { run.evaluation.validation }
    var topK: [Int] { run.evaluation.topK }
    var pcaBaseline: Bool { run.evaluation.pcaBaseline }
    var loading: Loading { Loading(rawValue: run.training.loading) ?? .auto }

    /// Saves the resolved config as RUN_DIR/config.yaml (rank 0; atomically).
    func saveConfig(_ comm: Communicator) throws {
        guard comm.isRoot else { return }
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        let path = (runDirectory as NSString).appendingPathComponent("config.yaml")
        try Data(("# Resolved by chain-train; rerun with: chain-train --config \(path)\n" + (try run.yaml())).utf8)
            .write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Trains and evaluates; returns false when a stop signal (or --stop-after) ended
    /// training early with a checkpoint.
    @discardableResult
    func run(_ comm: Communicator) throws -> Bool {
        let options = self.options   // resolved once (threads from the launch environment)
        // Cheap checks on every rank (same files, so all ranks agree); values are checked as they are read.
        let splits = try DatasetValidator(config: dataset, worldSize: comm.size, scanValues: false).validate()
        if validation > 0 {
            try runValidationSplit(comm)
            return true
        }
        let trainFile = try FeatureFile(path: dataset.path(dataset.train.features), key: dataset.train.featureKey)
        let copies = try dataset.train.augmented.map {
            try FeatureFile(path: dataset.path($0), key: dataset.train.augmentedKey ?? "feats", augmented: true)
        }
        let sampler = try DistributedSampler(count: trainFile.count, batchSize: options.batchSize, worldSize: comm.size,
                                             seed: options.seed)
        let config = self.config
        let perRank = ShardedSource.memoryPerRank(count: trainFile.count, frames: trainFile.frames, featureSize: trainFile.featureSize,
                                                  copies: copies?.copies ?? 0, worldSize: comm.size, batch: options.batchSize)
        let launch = LaunchEnvironment()
        let budget = Int(ProcessInfo.processInfo.physicalMemory) / 2 / launch.ranksPerNode(worldSize: comm.size)
        let mode: Loading = loading == .auto ? (perRank <= budget ? .memory : .stream) : loading
        let source: BatchSource = mode == .memory
            ? try ShardedSource(features: trainFile, augmented: copies, sampler: sampler, comm: comm)
            : try StreamingSource(features: trainFile, augmented: copies, sampler: sampler, comm: comm)
        let trainer = Trainer(config: config, options: options, comm: comm)
        if comm.isRoot {
            print("chain-train: \(config.mode.rawValue) · \(dataset.name) · \(trainFile.count) training videos × \(trainFile.frames) frames × \(trainFile.featureSize)"
                  + (copies.map { " (+\($0.copies) augmented copies)" } ?? "") + " · \(comm.size) rank(s) · \(trainer.model.store.parameterCount) parameters · \(config.bits) bits")
            print("  launch: \(comm.size) rank(s); rank 0 on \(launch.description)")
            print("  data: \(mode.rawValue) (\(String(format: "%.1f", Double(perRank) / 1e6)) MB per rank in memory mode) · \(sampler.stepsPerEpoch) steps/epoch · evaluation: \(splits[2].videos) queries against \(splits[1].videos) database videos")
            fflush(nil)
            if pcaBaseline {   // holds the three splits in memory: for small sets
                let train = try VideoSet.load(features: dataset.path(dataset.train.features), key: dataset.train.featureKey)
                let queries = try VideoSet.load(features: dataset.path(dataset.query.features), key: dataset.query.featureKey,
                                                labels: dataset.path(dataset.query.labels!), labelKeys: dataset.query.labelKeys)
                let database = try VideoSet.load(features: dataset.path(dataset.database.features), key: dataset.database.featureKey,
                                                 labels: dataset.path(dataset.database.labels!), labelKeys: dataset.database.labelKeys)
                printPCABaseline(train: train, queries: queries, database: database, bits: config.bits)
            }
        }
        let stop = StopRequest()
        let checkpoints = CheckpointManager(directory: (runDirectory as NSString).appendingPathComponent("checkpoints"),
                                            every: run.checkpoints.every, keep: run.checkpoints.keep,
                                            settings: run.flattened.merging(["data.frames": "\(dataset.frames)",
                                                                             "data.feature_size": "\(dataset.featureSize)"]) { a, _ in a },
                                            mustMatch: run.resumeInvariantKeys, comm: comm, stop: stop) { print($0); fflush(nil) }
        checkpoints.stopAfterStep = stopAfterStep
        checkpoints.configText = try run.yaml()
        let position = try checkpoints.start(trainer, resume: resume)
        try saveConfig(comm)
        let start = Date()
        let queryFile = try FeatureFile(path: dataset.path(dataset.query.features), key: dataset.query.featureKey)
        let databaseFile = try FeatureFile(path: dataset.path(dataset.database.features), key: dataset.database.featureKey)
        /// Encoding is spread over all ranks; the ranking runs on rank 0.
        /// Rank 0 reports encoding progress (its share) every 10% on large sets.
        func reporter(_ what: String) -> ((Int, Int) -> Void)? {
            guard comm.isRoot else { return nil }
            var next = 0.1
            return { done, share in
                guard share >= 2_000 else { return }
                let fraction = Double(done) / Double(share)
                if fraction >= next || done == share {
                    print("  encoding \(what): " + String(format: "%3.0f%%", 100 * fraction)); fflush(nil)
                    while next <= fraction { next += 0.1 }
                }
            }
        }
        func evaluate() throws -> RetrievalEvaluation.Result? {
            let queryCodes = try trainer.encodeDistributed(queryFile, progress: reporter("queries"))
            let databaseCodes = queryFile.path == databaseFile.path && queryFile.key == databaseFile.key
                ? queryCodes : try trainer.encodeDistributed(databaseFile, progress: reporter("database"))
            guard comm.isRoot else { return nil }
            return RetrievalEvaluation.evaluate(queries: queryCodes, database: databaseCodes, queryLabels: splits[2].labels!,
                                                databaseLabels: splits[1].labels!, topK: topK)
        }
        let recorder = comm.isRoot ? try RunRecorder(directory: runDirectory) : nil
        let progress = Progress(total: options.epochs * sampler.stepsPerEpoch, first: sampler.globalStep(position),
                                epochs: options.epochs, stepsPerEpoch: sampler.stepsPerEpoch, batch: options.batchSize,
                                enabled: comm.isRoot)
        var lastStep = Date()
        let outcome = try trainer.train(source, sampler: sampler, from: position,
                                        report: { r in
            progress.clear()
            if comm.isRoot { printEpoch(r, config) }
            recorder?.log(["kind": "epoch", "epoch": r.epoch, "loss": r.total, "contrastive": r.contrastive, "order": r.order,
                           "scene": r.scene, "reconstruction": r.reconstruction, "order_accuracy": r.orderAccuracy,
                           "seconds": r.seconds, "lr": Double(r.learningRate)])
        },
                                        afterStep: { event in
            // The step's global losses (one small all-reduce) for metrics.jsonl and the progress bar.
            var l = [event.losses.total, event.losses.contrastive, event.losses.order, event.losses.scene, event.losses.reconstruction]
            l.withUnsafeMutableBufferPointer { comm.allReduce($0) }
            let now = Date(), rate = Double(options.batchSize) / max(now.timeIntervalSince(lastStep), 1e-9)
            lastStep = now
            recorder?.log(["kind": "step", "step": event.globalStep, "epoch": event.epoch + 1, "lr": Double(event.learningRate),
                           "total": l[0], "contrastive": l[1], "order": l[2], "scene": l[3], "reconstruction": l[4],
                           "videos_per_second": rate])
            progress.step(event.globalStep, epoch: event.epoch + 1, loss: l[0])
            let decision = try checkpoints.afterStep(trainer, event)
            if decision == .proceed, event.endsEpoch, run.evaluation.every > 0, (event.epoch + 1) % run.evaluation.every == 0,
               event.epoch + 1 < options.epochs, let r = try evaluate() {
                progress.clear()
                print("  evaluation after epoch \(event.epoch + 1): " + topK.map { String(format: "mAP@%d %.4f", $0, r.mapAtK[$0]!) }.joined(separator: " ")
                      + String(format: " mAP@all %.4f", r.mapAll))
                fflush(nil)
                try recorder?.evaluation(r, bits: config.bits, epoch: event.epoch + 1, step: event.globalStep,
                                         name: String(format: "epoch-%04d", event.epoch + 1))
            }
            return decision
        })
        progress.clear()
        let seconds = Date().timeIntervalSince(start)
        if case .stopped = outcome { return false }
        let result = try evaluate()
        guard comm.isRoot, let result, let recorder else { return true }
        print(String(format: "final parameters: crc32 %08x (equal crc32 = bit-identical models)", trainer.parameterChecksum()))
        try report(result, seconds: seconds, config: config, split: "test")
        try recorder.evaluation(result, bits: config.bits, epoch: options.epochs, step: options.epochs * sampler.stepsPerEpoch, name: "final")
        let files = try recorder.finish(final: result, bits: config.bits, title: "CHAIN run \((runDirectory as NSString).lastPathComponent)",
                                        summary: ["dataset: \(dataset.name) (\(trainFile.count) training videos × \(trainFile.frames) × \(trainFile.featureSize)), "
                                                  + "\(splits[2].videos) queries against \(splits[1].videos)",
                                                  "mode \(config.mode.rawValue), \(config.bits) bits, \(trainer.model.store.parameterCount) parameters, \(comm.size) rank(s)",
                                                  String(format: "trained %d epochs in %.0f s this session", options.epochs, seconds)],
                                        config: try run.yaml())
        print("run folder \(runDirectory): config.yaml, metrics.jsonl, eval/, " + files.joined(separator: ", "))
        return true
    }

    func printEpoch(_ r: Trainer.EpochReport, _ config: CHAINConfig) {
        var line = String(format: "  epoch %3d/%d  loss %.4f", r.epoch, options.epochs, r.total)
        if config.mode == .conmh {
            line += String(format: " (contrastive %.4f, reconstruction %.4f)", r.contrastive, r.reconstruction)
        } else {
            line += String(format: " (contrastive %.4f, order %.4f [%.0f%%], scene %.4f [%.1f scenes/view])", r.contrastive, r.order,
                           100 * r.orderAccuracy, r.scene, r.scenesPerVideo)
        }
        line += String(format: "  lr %.2e  %.1f s", r.learningRate, r.seconds)
        print(line)
        fflush(nil)
    }

    func report(_ result: RetrievalEvaluation.Result, seconds: Double, config: CHAINConfig, split: String) throws {
        print(String(format: "trained in %.0f s", seconds))
        print("| bits | " + topK.map { "mAP@\($0)" }.joined(separator: " | ") + " | mAP@all |")
        print("|---|" + topK.map { _ in "---|" }.joined() + "---|")
        print("| \(config.bits) | " + topK.map { String(format: "%.4f", result.mapAtK[$0]!) }.joined(separator: " | ")
              + String(format: " | %.4f |", result.mapAll))
        if let json {
            var object: [String: Any] = ["bits": config.bits, "mode": config.mode.rawValue, "seconds": seconds,
                                         "map_all": result.mapAll, "split": split, "dataset": dataset.name,
                                         "weights": ["contrastive": config.contrastiveWeight, "order": config.orderWeight,
                                                     "scene": config.sceneWeight]]
            object["map"] = Dictionary(uniqueKeysWithValues: topK.map { ("\($0)", result.mapAtK[$0]!) })
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: json), options: .atomic)
        }
    }

    /// Model selection without the test split: `validation` training videos (a fixed random
    /// choice) query the others; every rank holds the training set in memory.
    func runValidationSplit(_ comm: Communicator) throws {
        let full = try VideoSet.load(features: dataset.path(dataset.train.features), key: dataset.train.featureKey,
                                     labels: dataset.path(dataset.database.labels!), labelKeys: dataset.database.labelKeys)
        guard validation < full.count else { throw ValidationFailure("--validation \(validation) leaves no training videos (\(full.count) in all)") }
        if comm.isRoot && dataset.train.augmented != nil { print("  note: augmented copies are not used with --validation") }
        var g = Philox(seed: 20_231_029).split("validation")
        let order = g.permutation(full.count)
        let train = full.subset(Array(order[validation...]).sorted(), name: "train")
        let queries = full.subset(Array(order[..<validation]).sorted(), name: "validation")
        let database = train
        var config = config
        guard train.featureSize == config.encoder.inputSize else {
            throw ValidationFailure("\(dataset.path(dataset.train.features)): features are \(train.featureSize)-d, the model expects \(config.encoder.inputSize)")
        }
        config.encoder.maxPositions = max(config.encoder.maxPositions, train.frames)
        let trainer = Trainer(config: config, options: options, comm: comm)
        if comm.isRoot {
            print("chain-train: \(config.mode.rawValue) · \(dataset.name) · \(train.count) training videos × \(train.frames) frames × \(train.featureSize) · "
                  + "\(comm.size) rank(s) · \(trainer.model.store.parameterCount) parameters · \(config.bits) bits")
            print("  evaluation: \(queries.count) held-out validation queries against \(database.count) database videos")
            if pcaBaseline { printPCABaseline(train: train, queries: queries, database: database, bits: config.bits) }
        }
        let start = Date()
        trainer.train(train) { r in if comm.isRoot { printEpoch(r, config) } }
        let seconds = Date().timeIntervalSince(start)
        guard comm.isRoot else { return }
        try report(trainer.evaluate(queries: queries, database: database, topK: topK), seconds: seconds, config: config, split: "validation")
    }

    /// The PCA-sign baseline (fitted on the training videos) on the same queries and database.
    func printPCABaseline(train: VideoSet, queries: VideoSet, database: VideoSet, bits: Int) {
        let pca = train.features.withUnsafeBufferPointer {
            PCASignBaseline(fit: $0.baseAddress!, videos: train.count, frames: train.frames, featureSize: train.featureSize, bits: bits)
        }
        let q = queries.features.withUnsafeBufferPointer { pca.encode($0.baseAddress!, videos: queries.count, frames: queries.frames) }
        let d = database.features.withUnsafeBufferPointer { pca.encode($0.baseAddress!, videos: database.count, frames: database.frames) }
        let r = RetrievalEvaluation.evaluate(queries: q, database: d, queryLabels: queries.labels!, databaseLabels: database.labels!,
                                             topK: topK)
        print("  PCA-sign baseline on the same split: " + topK.map { String(format: "mAP@%d %.4f", $0, r.mapAtK[$0]!) }.joined(separator: " ")
              + String(format: " mAP@all %.4f", r.mapAll))
        fflush(nil)
    }
}

struct ValidationFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
