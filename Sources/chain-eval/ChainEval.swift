import ArgumentParser
import ChainCLI
import ChainData
import ChainDistributed
import ChainEvaluation
import ChainModel
import ChainNumerics
import ChainReport
import ChainTraining
import Foundation

/// `chain-eval`: retrieval metrics of a trained checkpoint on its dataset, or of given code files.
@main
struct ChainEval: ChainTool {
    static let configuration = CommandConfiguration(
        commandName: "chain-eval",
        abstract: "mAP@K, mAP, precision/recall@K and the PR curve of Hamming ranking.",
        discussion: """
            With a model:
              chain-eval --config configs/mmnist.yaml --checkpoint runs/mmnist/checkpoints/checkpoint-….h5
            Database and queries come from the config's dataset. Under mpirun the encoding is spread over the ranks; \
            the ranking runs on rank 0.

            With codes:
              chain-eval --db-codes A.h5 --query-codes B.h5 --db-labels L1 --query-labels L2

            Ranking is by Hamming distance, ties broken by database index. mAP@K divides by K, as the field's public \
            code does (docs/evaluation.md).
            """)

    @Option(help: "Run config (or dataset config) naming the dataset to evaluate on.") var config: String?
    @Option(help: "Folder of the dataset's files (replaces the dataset config's root).") var root: String?
    @Option(help: "Checkpoint to evaluate.") var checkpoint: String?
    @Option(help: "With --checkpoint: codes or activations, what a code averages over frames (default: the run's).")
    var pooling: CodePooling?
    @Option(help: "Database code file.") var dbCodes: String?
    @Option(help: "Query code file.") var queryCodes: String?
    @Option(help: "Database labels (.mat v5/v7.3 or HDF5).") var dbLabels: String?
    @Option(help: "Query labels.") var queryLabels: String?
    @Option(help: "Comma-separated K values.", transform: TopKList.parse)
    var topk = TopKList([5, 10, 20, 40, 60, 80, 100])
    @Flag(help: "Query i does not retrieve database item i (query set = database without the self-match).")
    var excludeSelf = false
    @Option(help: "Write the result as JSON (with the PR curve) to this file; written atomically.") var json: String?
    @Option(
        help: ArgumentHelp(
            "Write the evaluation's plots here: mAP@K and precision@K over K, PR curve, Hamming histograms, code map.",
            valueName: "folder"))
    var plots: String?

    func run() throws {
        let comm = Communicator.world()
        defer { Communicator.finalize() }
        do {
            let ks = topk.values
            var queries: PackedCodes?, database: PackedCodes?, qLabels: LabelMatrix?, dbLabelMatrix: LabelMatrix?
            var source = ""
            if let checkpoint {
                guard dbCodes == nil && queryCodes == nil else {
                    throw DataError("give --checkpoint (with --config) or code files, not both")
                }
                guard let config else {
                    throw DataError("--checkpoint needs --config (the run or dataset config naming the data)")
                }
                let dataset = try datasetConfig(config)
                let splits = try DatasetValidator(config: dataset, worldSize: comm.size, scanValues: false).validate()
                let (encoder, _) = try TrainedModel.load(checkpoint: checkpoint, comm: comm, pooling: pooling)
                let q = try FeatureFile(path: dataset.path(dataset.query.features), key: dataset.query.featureKey)
                let d = try FeatureFile(path: dataset.path(dataset.database.features), key: dataset.database.featureKey)
                queries = try encoder.encodeDistributed(q)
                database = q.path == d.path && q.key == d.key ? queries : try encoder.encodeDistributed(d)
                qLabels = splits.query.labels; dbLabelMatrix = splits.database.labels
                source = "\(checkpoint) on \(dataset.name)"
            } else {
                guard let dbCodes, let queryCodes, let dbLabels, let queryLabels else {
                    throw DataError(
                        "give --checkpoint and --config, or --db-codes, --query-codes, --db-labels and --query-labels")
                }
                database = try CodeFile.read(path: dbCodes); queries = try CodeFile.read(path: queryCodes)
                dbLabelMatrix = try LabelReader.read(path: dbLabels); qLabels = try LabelReader.read(path: queryLabels)
                try RetrievalInputs.checkBits(queries: queries!, queryCodes, database: database!, dbCodes)
                try RetrievalInputs.checkLabels(dbLabelMatrix!, dbLabels, for: database!, dbCodes)
                try RetrievalInputs.checkLabels(qLabels!, queryLabels, for: queries!, queryCodes)
                try RetrievalInputs.checkClasses(queries: qLabels!, queryLabels, database: dbLabelMatrix!, dbLabels)
                source = "\(queryCodes) against \(dbCodes)"
            }
            guard comm.isRoot, let queries, let database, let qLabels, let dbLabelMatrix else { return }
            guard queries.count > 0 else { throw DataError("the query set is empty (\(source))") }
            guard database.count > 0 else { throw DataError("the database is empty (\(source))") }
            if let k = ks.first(where: { $0 > database.count }) {
                throw DataError("--topk \(k) is larger than the database (\(database.count) items)")
            }
            if excludeSelf && queries.count != database.count {
                throw DataError(
                    "--exclude-self needs the query set to be the database (\(queries.count) queries, "
                        + "\(database.count) items)"
                )
            }
            let start = ContinuousClock.now
            // With --plots, also at the curves' cutoffs (the table shows --topk).
            let r = RetrievalEvaluation.evaluate(
                queries: queries, database: database, queryLabels: qLabels, databaseLabels: dbLabelMatrix,
                topK: plots == nil ? ks : CurveCutoffs.forDatabase(of: database.count, table: ks),
                excludeSelf: excludeSelf)
            print(
                "\(source): \(queries.count) queries × \(database.count) database items × \(database.bits) bits"
                    + String(format: " (ranked in %.2f s)", (ContinuousClock.now - start).seconds))
            print("| K | " + ks.map { "\($0)" }.joined(separator: " | ") + " |")
            print("|---|" + ks.map { _ in "---|" }.joined())
            print("| mAP@K | " + ks.map { String(format: "%.4f", r.mapAtK[$0]!) }.joined(separator: " | ") + " |")
            print(
                "| precision@K | " + ks.map { String(format: "%.4f", r.precisionAtK[$0]!) }.joined(separator: " | ")
                    + " |")
            print("| recall@K | " + ks.map { String(format: "%.4f", r.recallAtK[$0]!) }.joined(separator: " | ") + " |")
            print(String(format: "mAP (whole ranking) %.4f", r.mapAll))
            if let plots {
                let files = try EvaluationPlots(result: r, bits: database.bits, name: "\(database.bits)-bit codes")
                    .write(to: plots, codeMap: CodeMap.chart(queries, classes: qLabels.firstClasses, seed: 1))
                print("plots in \(plots): " + files.joined(separator: ", "))
            }
            if let json {
                var record = EvaluationRecord(r, bits: database.bits, histograms: false)
                record.database = database.count
                record.source = source
                do { try record.write(to: json) } catch { throw DataError("\(json): cannot write: \(error)") }
            }
        } catch {
            throw toolFailure("chain-eval", error, comm: comm)
        }
    }

    /// A dataset config directly, or the one a run config names.
    func datasetConfig(_ path: String) throws -> DatasetConfig {
        if DatasetConfig.isDatasetConfig(path) {
            return try DatasetConfig.load(path: path, rootOverride: root)
        }
        let run = try RunConfig.resolve(path: path, overrides: [])
        guard run.dataset != "synthetic" else {
            throw DataError(
                "\(path) uses the built-in synthetic set: pass its dataset config (runs/default/data/synth.yaml)")
        }
        return try DatasetConfig.load(path: run.dataset, rootOverride: root)
    }
}
