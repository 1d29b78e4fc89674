import ChainEvaluation
import ChainNumerics
import Foundation

/// plots/code_map.svg: where the hash codes of the queries lie relative to each other, as the
/// CHAIN paper shows ("compact for the same category, dispersed for others"): a t-SNE map
/// (`TSNE`) of at most 2,000 query codes, sampled with the seed, from their Hamming distances,
/// one colour per class.
public enum CodeMap {
    /// At most `limit` of `count` indices, drawn without replacement from `seed`, in order.
    public static func sample(count: Int, limit: Int = 2_000, seed: UInt64) -> [Int] {
        guard count > limit else { return Array(0..<count) }
        var random = Philox(seed: seed).split("code map sample")
        var indices = Array(0..<count)
        for i in 0..<limit {  // a partial Fisher–Yates shuffle
            let j = i + Int(random.next() % UInt64(count - i))
            indices.swapAt(i, j)
        }
        return indices[..<limit].sorted()
    }

    /// Squared Hamming distances between the codes at `indices` (row-major, k × k).
    public static func squaredHammingDistances(_ codes: PackedCodes, _ indices: [Int]) -> [Float] {
        let k = indices.count, bytes = codes.bytesPerCode
        var d2 = [Float](repeating: 0, count: k * k)
        for a in 0..<k {
            for b in (a + 1)..<max(k, a + 1) {
                var distance = 0
                let i = indices[a] * bytes, j = indices[b] * bytes
                for byte in 0..<bytes { distance += (codes.bytes[i + byte] ^ codes.bytes[j + byte]).nonzeroBitCount }
                d2[a * k + b] = Float(distance * distance)
                d2[b * k + a] = Float(distance * distance)
            }
        }
        return d2
    }

    /// The map's chart: a scatter of the sampled codes, one series per class (`classes[i]` is
    /// query i's class, its first one for multi-label sets; `names` label them when given).
    public static func chart(
        _ codes: PackedCodes, classes: [Int], names: [String]? = nil, seed: UInt64, tsne: TSNE? = nil
    ) -> SVGChart {
        precondition(classes.count == codes.count, "CodeMap: \(classes.count) classes for \(codes.count) codes")
        let picked = sample(count: codes.count, seed: seed)
        let positions = (tsne ?? TSNE(seed: seed)).embed(
            squaredDistances: squaredHammingDistances(codes, picked), count: picked.count)
        var byClass: [Int: [(x: Double, y: Double)]] = [:]
        for (position, index) in zip(positions, picked) { byClass[classes[index], default: []].append(position) }
        let series = byClass.keys.sorted().map { c in
            SVGChart.Series(
                name: names.map { c < $0.count ? $0[c] : "class \(c)" } ?? "class \(c)", points: byClass[c]!)
        }
        var chart = SVGChart(
            title: "t-SNE of \(picked.count) query codes (Hamming distance), by class", xLabel: "t-SNE 1",
            yLabel: "t-SNE 2", series: series)
        chart.scatter = true
        return chart
    }
}
