import Foundation

/// One evaluation as a JSON file (`chain-eval --json`, a run folder's eval/*.json): mAP@K,
/// precision@K and recall@K by K, mAP over the whole ranking, the PR curve over Hamming
/// radii and the pair counts at each distance. Keys are snake_case and sorted; fields that
/// do not apply are left out.
public struct EvaluationRecord: Codable, Equatable, Sendable {
    /// One point of the PR curve: retrieving every item within `radius`.
    public struct CurvePoint: Codable, Equatable, Sendable {
        public var radius: Int
        public var precision: Double
        public var recall: Double
    }

    public var bits: Int
    public var queries: Int
    /// Database items (chain-eval), what was evaluated (chain-eval), and when (a run).
    public var database: Int?
    public var source: String?
    public var epoch: Int?
    public var step: Int?
    /// By K, as text ("5", "10", …).
    public var map: [String: Double]
    public var precision: [String: Double]
    public var recall: [String: Double]
    public var mapAll: Double
    public var prCurve: [CurvePoint]
    public var pairsAtDistance: [Double]?
    public var relevantPairsAtDistance: [Double]?

    enum CodingKeys: String, CodingKey {
        case bits, queries, database, source, epoch, step, map, precision, recall
        case mapAll = "map_all", prCurve = "pr_curve", pairsAtDistance = "pairs_at_distance"
        case relevantPairsAtDistance = "relevant_pairs_at_distance"
    }

    /// The record of `r` for `bits`-bit codes; `histograms` adds the pair counts per distance.
    public init(_ r: RetrievalEvaluation.Result, bits: Int, histograms: Bool = true) {
        func byK(_ values: [Int: Double]) -> [String: Double] {
            Dictionary(uniqueKeysWithValues: values.map { ("\($0.key)", $0.value) })
        }
        self.bits = bits
        queries = r.queries
        map = byK(r.mapAtK)
        precision = byK(r.precisionAtK)
        recall = byK(r.recallAtK)
        mapAll = r.mapAll
        prCurve = r.prCurve.map { CurvePoint(radius: $0.radius, precision: $0.precision, recall: $0.recall) }
        if histograms {
            pairsAtDistance = r.pairsAtDistance
            relevantPairsAtDistance = r.relevantPairsAtDistance
        }
    }

    /// The evaluation this record was made from (for redrawing a run's plots from its files).
    public var result: RetrievalEvaluation.Result {
        func byK(_ values: [String: Double]) -> [Int: Double] {
            Dictionary(uniqueKeysWithValues: values.compactMap { k, v in Int(k).map { ($0, v) } })
        }
        return RetrievalEvaluation.Result(
            mapAtK: byK(map), mapAll: mapAll, precisionAtK: byK(precision), recallAtK: byK(recall),
            prCurve: prCurve.map { ($0.radius, $0.precision, $0.recall) }, pairsAtDistance: pairsAtDistance ?? [],
            relevantPairsAtDistance: relevantPairsAtDistance ?? [], queries: queries)
    }

    /// Reads a record written by `write(to:)`, naming the file in errors.
    public static func read(path: String) throws -> EvaluationRecord {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        return try JSONDecoder().decode(EvaluationRecord.self, from: data)
    }

    /// Pretty-printed, keys sorted.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Writes the file atomically.
    public func write(to path: String) throws { try json().write(to: URL(fileURLWithPath: path), options: .atomic) }
}
