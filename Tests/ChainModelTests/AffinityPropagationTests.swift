import ChainModel
import Foundation
import XCTest

/// Affinity propagation against scikit-learn on committed fixtures
/// (Fixtures/make_affinity_propagation_fixtures.py, scikit-learn 1.9.1).
final class AffinityPropagationTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            /// Coordinates × 10⁴ (x = p / 10000, exact on both sides).
            let points: [[Int]]
            let damping: Double
            let max_iter: Int
            let convergence_iter: Int
            let preference: Double?
            let labels: [Int]
            let centers: [Int]
            let n_iter: Int
            let converged: Bool
            let noise_free_agrees: Bool
        }
        let sklearn: String
        let cases: [Case]
    }

    /// S[i][j] = −Σ_k (x_ik − x_jk)², left to right, exactly as the generator computed it.
    static func similarities(_ points: [[Double]]) -> [Double] {
        let n = points.count
        var s = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                var acc = 0.0
                for k in 0..<points[i].count { let t = points[i][k] - points[j][k]; acc += t * t }
                s[i * n + j] = -acc
            }
        }
        return s
    }

    func testMatchesScikitLearnOnFixtures() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "affinity_propagation", withExtension: "json"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertGreaterThanOrEqual(fixture.cases.count, 50)
        var sizes = Set<Int>(), unconverged = 0, empty = 0, noiseSensitive = 0
        for (index, c) in fixture.cases.enumerated() {
            let n = c.points.count
            sizes.insert(n)
            let coordinates = c.points.map { $0.map { Double($0) / 10000 } }
            let modes: [AffinityPropagation.TieBreaking] =
                c.noise_free_agrees ? [.scikitLearn(seed: 0), .none] : [.scikitLearn(seed: 0)]
            if !c.noise_free_agrees { noiseSensitive += 1 }
            for mode in modes {
                let ap = AffinityPropagation(
                    damping: c.damping, maxIterations: c.max_iter,
                    convergenceIterations: c.convergence_iter,
                    preference: c.preference.map { .value($0) } ?? .median, tieBreaking: mode)
                let result = ap.fit(similarities: Self.similarities(coordinates), count: n)
                let label = "case \(index) (n = \(n), \(mode))"
                XCTAssertEqual(result.labels, c.labels, label)
                XCTAssertEqual(result.exemplars, c.centers, label)
                XCTAssertEqual(result.iterations, c.n_iter, label)
                XCTAssertEqual(result.converged, c.converged, label)
            }
            if !c.converged { unconverged += 1 }
            if c.centers.isEmpty { empty += 1 }
        }
        XCTAssertEqual(sizes.min(), 5)
        XCTAssertEqual(sizes.max(), 60)
        XCTAssertGreaterThan(unconverged, 0, "fixtures should include non-converged runs")
        XCTAssertGreaterThan(empty, 0, "fixtures should include a run with no exemplar")
        XCTAssertGreaterThan(noiseSensitive, 0, "fixtures should include problems whose answer depends on the noise")
    }

    func testDegenerateInputs() {
        let ap = AffinityPropagation()
        XCTAssertEqual(ap.fit(similarities: [], count: 0).labels, [])
        XCTAssertEqual(ap.fit(similarities: [0], count: 1).labels, [0])
        // All off-diagonal similarities equal: one cluster when the preference is not above
        // them, every sample its own cluster when it is (scikit-learn's rule).
        let equal: [Double] = [0, -1, -1, -1, 0, -1, -1, -1, 0]
        XCTAssertEqual(
            AffinityPropagation(preference: .value(-2)).fit(similarities: equal, count: 3).labels, [0, 0, 0])
        XCTAssertEqual(AffinityPropagation(preference: .value(0)).fit(similarities: equal, count: 3).labels, [0, 1, 2])
    }

    /// Duplicate frames make the messages tie exactly; scikit-learn's noise resolves them
    /// deterministically (same seed, same answer) into a sensible clustering.
    func testNoiseResolvesDuplicateFrames() {
        let points: [[Double]] = [[0, 1], [0, 1], [0, 1], [1, 0], [1, 0], [1, 0]]
        let s = Self.similarities(points)
        let jittered = AffinityPropagation(tieBreaking: .scikitLearn(seed: 0))
        let r = jittered.fit(similarities: s, count: 6)
        XCTAssertEqual(r, jittered.fit(similarities: s, count: 6))
        XCTAssertEqual(r.clusterCount, 2)
        XCTAssertEqual(Set(r.labels[0..<3]).count, 1)
        XCTAssertEqual(Set(r.labels[3..<6]).count, 1)
        XCTAssertNotEqual(r.labels[0], r.labels[3])
    }

    func testTwoObviousGroupsAndDeterminism() {
        // Frames 0–3 near one point, 4–7 near another (a scene change at frame 4).
        var points: [[Double]] = []
        for i in 0..<8 {
            let t = Double(i)
            points.append(i < 4 ? [0.01 * t, 1] : [1, 0.013 * t])
        }
        let s = Self.similarities(points)
        let r1 = AffinityPropagation().fit(similarities: s, count: 8)
        XCTAssertTrue(r1.converged)
        XCTAssertEqual(r1.labels, [0, 0, 0, 0, 1, 1, 1, 1])
        XCTAssertEqual(AffinityPropagation().fit(similarities: s, count: 8), r1)
    }

    func testFloatPointsHelperMatchesDefinition() {
        let pts: [Float] = [0, 1, 2, 3, -1, 0.5]
        let s = pts.withUnsafeBufferPointer {
            AffinityPropagation.negativeSquaredDistances($0.baseAddress!, count: 3, dimension: 2)
        }
        XCTAssertEqual(s[0 * 3 + 1], -8)
        XCTAssertEqual(s[1 * 3 + 0], -8)
        XCTAssertEqual(s[0 * 3 + 2], -1.25)
        XCTAssertEqual(s[2 * 3 + 1], -15.25)
        XCTAssertEqual(s[4], 0)
    }
}
