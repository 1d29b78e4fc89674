import ChainEvaluation
import ChainModel
import Foundation

/// The final evaluation as `chain-train --json FILE` writes it.
struct RunResultFile: Codable {
    struct Weights: Codable { var contrastive: Float, order: Float, scene: Float }
    var bits: Int
    var mode: String
    var seconds: Double
    var split: String
    var dataset: String
    var weights: Weights
    /// mAP@K by K ("5", "10", …) and mAP over the whole ranking.
    var map: [String: Double]
    var mapAll: Double
    /// Near-duplicate retrieval (copies against their sources), when it was evaluated.
    var nearDuplicates: NearDuplicates?

    /// mAP@K by K and mAP of near-duplicate retrieval.
    struct NearDuplicates: Codable {
        var map: [String: Double]
        var mapAll: Double
        enum CodingKeys: String, CodingKey { case map, mapAll = "map_all" }
    }

    enum CodingKeys: String, CodingKey {
        case bits, mode, seconds, split, dataset, weights, map, mapAll = "map_all", nearDuplicates = "near_duplicates"
    }

    init(
        _ r: RetrievalEvaluation.Result, near: RetrievalEvaluation.Result?, topK: [Int], config: CHAINConfig,
        seconds: Double, split: String, dataset: String
    ) {
        bits = config.bits
        mode = config.mode.rawValue
        self.seconds = seconds
        self.split = split
        self.dataset = dataset
        weights = Weights(contrastive: config.contrastiveWeight, order: config.orderWeight, scene: config.sceneWeight)
        map = Dictionary(uniqueKeysWithValues: topK.map { ("\($0)", r.mapAtK[$0]!) })
        mapAll = r.mapAll
        nearDuplicates = near.map { n in
            NearDuplicates(
                map: Dictionary(uniqueKeysWithValues: n.mapAtK.map { ("\($0.key)", $0.value) }),
                mapAll: n.mapAll)
        }
    }

    /// Writes the file atomically (pretty-printed, keys sorted).
    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
