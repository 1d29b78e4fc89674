import ArgumentParser
import ChainCLI
import ChainData
import ChainEvaluation
import Foundation

/// `chain-search`: the nearest database codes of one query code.
@main
struct ChainSearch: ChainTool {
    static let configuration = CommandConfiguration(
        commandName: "chain-search",
        abstract: "Print the database items nearest (in Hamming distance) to one query; ties by database index.")

    @Option(help: "Database code file.") var dbCodes: String
    @Option(help: "Query code file.") var queryCodes: String
    @Option(help: "Index of the query in the query code file.") var query: Int
    @Option(help: "How many neighbours to print.") var top = 10
    @Option(help: "Database labels (optional: marks relevant neighbours).") var dbLabels: String?
    @Option(help: "Query labels (with --db-labels).") var queryLabels: String?

    func run() throws {
        do {
            let db = try CodeFile.read(path: dbCodes), queries = try CodeFile.read(path: queryCodes)
            try RetrievalInputs.checkBits(queries: queries, queryCodes, database: db, dbCodes)
            guard query >= 0 && query < queries.count else {
                throw DataError("--query \(query) is outside 0..<\(queries.count) (the queries in \(queryCodes))")
            }
            guard top >= 1 else { throw DataError("--top must be positive (got \(top))") }
            guard db.count > 0 else { throw DataError("\(dbCodes) holds no codes") }
            var labels: (LabelMatrix, LabelMatrix)?
            if let dbLabels, let queryLabels {
                let d = try LabelReader.read(path: dbLabels), q = try LabelReader.read(path: queryLabels)
                try RetrievalInputs.checkLabels(d, dbLabels, for: db, dbCodes)
                try RetrievalInputs.checkLabels(q, queryLabels, for: queries, queryCodes)
                labels = (d, q)
            } else if (dbLabels == nil) != (queryLabels == nil) {
                throw DataError("give both --db-labels and --query-labels, or neither")
            }
            let hits = HammingSearch.nearest(to: query, in: queries, database: db, count: top)
            print("query \(query) of \(queryCodes) against \(db.count) codes of \(db.bits) bits:")
            print("rank  index  distance" + (labels == nil ? "" : "  relevant"))
            for (rank, hit) in hits.enumerated() {
                var line = String(format: "%4d  %5d  %8d", rank + 1, hit.index, hit.distance)
                if let (d, q) = labels { line += q.shares(query, with: d, hit.index) ? "  yes" : "  no" }
                print(line)
            }
        } catch {
            throw toolFailure("chain-search", error)
        }
    }
}
