import ChainData
import ChainDistributed
import ChainEvaluation
import Foundation

/// Retrieval on a dataset's test split: queries against the database, encoded by all ranks
/// together (`DistributedEncoder`), ranked on rank 0. Rank 0 reports encoding progress (its
/// share) every 10% on large sets.
struct TestEvaluation {
    let queries: FeatureFile, database: FeatureFile
    let queryLabels: LabelMatrix, databaseLabels: LabelMatrix
    let topK: [Int]
    let comm: Communicator
    let log: (String) -> Void

    init(
        dataset: DatasetConfig, labels splits: DatasetValidator.Splits, topK: [Int], comm: Communicator,
        log: @escaping (String) -> Void
    ) throws {
        queries = try FeatureFile(path: dataset.path(dataset.query.features), key: dataset.query.featureKey)
        database = try FeatureFile(path: dataset.path(dataset.database.features), key: dataset.database.featureKey)
        guard let q = splits.query.labels, let d = splits.database.labels else {
            throw DataError("dataset '\(dataset.name)': the query and database splits need label files")
        }
        queryLabels = q
        databaseLabels = d
        self.topK = topK
        self.comm = comm
        self.log = log
    }

    /// The result on rank 0 (nil elsewhere), at the run's cutoffs or at `cutoffs`. Collective.
    func evaluate(_ encoder: DistributedEncoder, cutoffs: [Int]? = nil) throws -> RetrievalEvaluation.Result? {
        try evaluateKeepingQueryCodes(encoder, cutoffs: cutoffs)?.result
    }

    /// `evaluate`, also returning the query codes (rank 0; for the map of codes by class).
    func evaluateKeepingQueryCodes(
        _ encoder: DistributedEncoder, cutoffs: [Int]? = nil
    ) throws -> (result: RetrievalEvaluation.Result, queryCodes: PackedCodes)? {
        let queryCodes = try encoder.encodeDistributed(queries, progress: reporter("queries"))
        let sameFile = queries.path == database.path && queries.key == database.key
        let databaseCodes =
            sameFile ? queryCodes : try encoder.encodeDistributed(database, progress: reporter("database"))
        guard comm.isRoot else { return nil }
        let result = RetrievalEvaluation.evaluate(
            queries: queryCodes, database: databaseCodes, queryLabels: queryLabels,
            databaseLabels: databaseLabels, topK: cutoffs ?? topK)
        return (result, queryCodes)
    }

    /// The final evaluation's cutoffs: the table's and the curves' (`CurveCutoffs`).
    var curveCutoffs: [Int] { CurveCutoffs.forDatabase(of: database.count, table: topK) }

    func reporter(_ what: String) -> ((Int, Int) -> Void)? {
        guard comm.isRoot else { return nil }
        var next = 0.1
        return { done, share in
            guard share >= 2_000 else { return }
            let fraction = Double(done) / Double(share)
            if fraction >= next || done == share {
                log("  encoding \(what): " + String(format: "%3.0f%%", 100 * fraction))
                while next <= fraction { next += 0.1 }
            }
        }
    }
}
