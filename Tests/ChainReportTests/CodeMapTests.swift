import ChainEvaluation
import ChainReport
import Foundation
import XCTest

/// The map of codes by class: t-SNE keeps clusters of codes apart and is a function of the
/// seed, and the sample of queries it maps is bounded and reproducible.
final class CodeMapTests: XCTestCase {
    /// `perClass` 64-bit codes around each of `classes` random centres, `flips` bits flipped.
    func clusteredCodes(classes: Int, perClass: Int, flips: Int) -> (PackedCodes, [Int]) {
        var generator = SplitMix(state: 7)
        let centres = (0..<classes).map { _ in (0..<8).map { _ in UInt8(truncatingIfNeeded: generator.next()) } }
        var bytes: [UInt8] = [], labels: [Int] = []
        for c in 0..<classes {
            for _ in 0..<perClass {
                var code = centres[c]
                for _ in 0..<flips {
                    let bit = Int(generator.next() % 64)
                    code[bit / 8] ^= UInt8(1 << (bit % 8))
                }
                bytes += code
                labels.append(c)
            }
        }
        return (PackedCodes(count: labels.count, bits: 64, bytes: bytes), labels)
    }

    func testTSNESeparatesClustersOfCodes() {
        let (codes, labels) = clusteredCodes(classes: 4, perClass: 40, flips: 4)
        let indices = Array(0..<codes.count)
        let d2 = CodeMap.squaredHammingDistances(codes, indices)
        let y = TSNE(iterations: 500, seed: 3).embed(squaredDistances: d2, count: codes.count)
        // Each point's nearest neighbour on the map has its class.
        var agree = 0
        for i in indices {
            var best = -1, bestDistance = Double.infinity
            for j in indices where j != i {
                let d = (y[i].x - y[j].x) * (y[i].x - y[j].x) + (y[i].y - y[j].y) * (y[i].y - y[j].y)
                if d < bestDistance { bestDistance = d; best = j }
            }
            if labels[best] == labels[i] { agree += 1 }
        }
        XCTAssertGreaterThanOrEqual(Double(agree) / Double(codes.count), 0.98, "\(agree) of \(codes.count)")
        XCTAssertTrue(y.allSatisfy { $0.x.isFinite && $0.y.isFinite })
    }

    func testTSNEIsAFunctionOfTheSeed() {
        let (codes, _) = clusteredCodes(classes: 3, perClass: 20, flips: 6)
        let d2 = CodeMap.squaredHammingDistances(codes, Array(0..<codes.count))
        let a = TSNE(iterations: 200, seed: 5).embed(squaredDistances: d2, count: codes.count)
        let b = TSNE(iterations: 200, seed: 5).embed(squaredDistances: d2, count: codes.count)
        let c = TSNE(iterations: 200, seed: 6).embed(squaredDistances: d2, count: codes.count)
        XCTAssertEqual(a.map(\.x), b.map(\.x))
        XCTAssertEqual(a.map(\.y), b.map(\.y))
        XCTAssertNotEqual(a.map(\.x), c.map(\.x))
    }

    func testHammingDistancesAndSample() {
        let codes = PackedCodes(count: 3, bits: 16, bytes: [0x00, 0x00, 0xFF, 0x00, 0x0F, 0x01])
        XCTAssertEqual(CodeMap.squaredHammingDistances(codes, [0, 1, 2]), [0, 64, 25, 64, 0, 25, 25, 25, 0])
        let sample = CodeMap.sample(count: 10_000, limit: 2_000, seed: 1)
        XCTAssertEqual(sample.count, 2_000)
        XCTAssertEqual(Set(sample).count, 2_000)
        XCTAssertEqual(sample, sample.sorted())
        XCTAssertEqual(sample, CodeMap.sample(count: 10_000, limit: 2_000, seed: 1))
        XCTAssertNotEqual(sample, CodeMap.sample(count: 10_000, limit: 2_000, seed: 2))
        XCTAssertEqual(CodeMap.sample(count: 50, seed: 1), Array(0..<50))
    }

    func testChartHasOneSeriesPerClass() {
        let (codes, labels) = clusteredCodes(classes: 3, perClass: 10, flips: 3)
        let chart = CodeMap.chart(codes, classes: labels, seed: 1, tsne: TSNE(iterations: 100, seed: 1))
        XCTAssertEqual(chart.series.map(\.name), ["class 0", "class 1", "class 2"])
        XCTAssertEqual(chart.series.map(\.points.count), [10, 10, 10])
        XCTAssertTrue(chart.scatter)
        XCTAssertFalse(chart.render().contains("<polyline"), "a scatter has no lines")
    }
}

/// A tiny seeded generator for test data (SplitMix64).
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
