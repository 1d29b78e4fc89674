import Foundation

/// One line of a run folder's metrics.jsonl: a step, an epoch or an evaluation, tagged by
/// `kind`. Keys are snake_case and sorted.
public enum MetricsRecord: Encodable, Sendable {
    /// After an optimizer step: the global losses, the rate used and the throughput.
    case step(step: Int, epoch: Int, learningRate: Double, losses: Losses, videosPerSecond: Double)
    /// At an epoch end (after global step `step`): the epoch's mean losses, the frame-order
    /// accuracy and its chance level, and the scenes per scene-regularised view.
    case epoch(
        epoch: Int, step: Int, losses: Losses, orderAccuracy: Double, orderChance: Double, scenesPerView: Double,
        seconds: Double, learningRate: Double)
    /// An evaluation: mAP@K by K and mAP over the whole ranking.
    case evaluation(epoch: Int, step: Int, mapAtK: [Int: Double], mapAll: Double)

    /// The loss terms of a step or an epoch.
    public struct Losses: Sendable {
        public var total: Double, contrastive: Double, order: Double, scene: Double, reconstruction: Double
        public init(total: Double, contrastive: Double, order: Double, scene: Double, reconstruction: Double) {
            self.total = total; self.contrastive = contrastive; self.order = order; self.scene = scene
            self.reconstruction = reconstruction
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        func losses(_ l: Losses, total: String) throws {
            try c.encode(l.total, forKey: Key(total))
            try c.encode(l.contrastive, forKey: Key("contrastive"))
            try c.encode(l.order, forKey: Key("order"))
            try c.encode(l.scene, forKey: Key("scene"))
            try c.encode(l.reconstruction, forKey: Key("reconstruction"))
        }
        switch self {
        case let .step(step, epoch, learningRate, l, rate):
            try c.encode("step", forKey: Key("kind"))
            try c.encode(step, forKey: Key("step"))
            try c.encode(epoch, forKey: Key("epoch"))
            try c.encode(learningRate, forKey: Key("lr"))
            try losses(l, total: "total")
            try c.encode(rate, forKey: Key("videos_per_second"))
        case let .epoch(epoch, step, l, accuracy, chance, scenes, seconds, learningRate):
            try c.encode("epoch", forKey: Key("kind"))
            try c.encode(epoch, forKey: Key("epoch"))
            try c.encode(step, forKey: Key("step"))
            try c.encode(scenes, forKey: Key("scenes_per_view"))
            try losses(l, total: "loss")
            try c.encode(accuracy, forKey: Key("order_accuracy"))
            try c.encode(chance, forKey: Key("order_chance"))
            try c.encode(seconds, forKey: Key("seconds"))
            try c.encode(learningRate, forKey: Key("lr"))
        case let .evaluation(epoch, step, mapAtK, mapAll):
            try c.encode("eval", forKey: Key("kind"))
            try c.encode(epoch, forKey: Key("epoch"))
            try c.encode(step, forKey: Key("step"))
            try c.encode(mapAll, forKey: Key("map_all"))
            for (k, v) in mapAtK { try c.encode(v, forKey: Key("map@\(k)")) }
        }
    }

    /// The record as one line of JSON (no newline).
    public func line() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
