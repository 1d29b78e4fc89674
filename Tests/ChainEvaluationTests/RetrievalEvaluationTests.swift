import ChainData
import ChainEvaluation
import ChainNumerics
import Foundation
import XCTest

final class RetrievalEvaluationTests: XCTestCase {
    func codes(_ rows: [[Float]]) -> PackedCodes {
        let flat = rows.flatMap { $0 }
        return flat.withUnsafeBufferPointer {
            PackedCodes(values: $0.baseAddress!, count: rows.count, bits: rows[0].count)
        }
    }

    func labels(_ rows: [[UInt8]]) -> LabelMatrix {
        LabelMatrix(rows: rows.count, classes: rows[0].count, values: rows.flatMap { $0 })
    }

    /// Near-duplicates: each query's only relevant item is its source. q0 = 0001 (source d0)
    /// against d0 0000, d1 0011, d2 1111: distances 1, 1, 3 → d0 first (tie, smaller index), AP
    /// 1. q1 = 0111 (source d2): distances 3, 1, 1 → d1, d2 → d2 at rank 2, AP 1/2.
    /// mAP@1 = (1 + 0)/2 = 0.5; mAP@2 = (1/2 + (1/2)/2)/2 = 0.375; mAP(all) = 0.75.
    func testNearDuplicatesHandComputed() {
        let m: Float = -1
        let db = codes([[m, m, m, m], [m, m, 1, 1], [1, 1, 1, 1]])
        let queries = codes([[m, m, m, 1], [m, 1, 1, 1]])
        let r = RetrievalEvaluation.evaluate(queries: queries, database: db, sources: [0, 2], topK: [1, 2])
        XCTAssertEqual(r.mapAtK[1]!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(r.mapAtK[2]!, 0.375, accuracy: 1e-12)
        XCTAssertEqual(r.mapAll, 0.75, accuracy: 1e-12)
        XCTAssertEqual(r.recallAtK[1]!, 0.5, accuracy: 1e-12)
        // The same relevance written as labels (one class per source) gives the same result.
        let asLabels = RetrievalEvaluation.evaluate(
            queries: queries, database: db, queryLabels: labels([[1, 0, 0], [0, 0, 1]]),
            databaseLabels: labels([[1, 0, 0], [0, 1, 0], [0, 0, 1]]), topK: [1, 2])
        XCTAssertEqual(asLabels, r)
    }

    /// Query 0000 against d0 0000, d1 1111, d2 0001, d3 0011, d4 0000 (bit = +1):
    /// distances 0, 4, 1, 2, 0 → ranking d0, d4 (tie broken by index), d2, d3, d1.
    /// Relevant (class A): d1, d3, d4 → relevance by rank [0, 1, 0, 1, 1].
    /// mAP@2 = (1/2)/2 = 0.25; mAP@4 = (1/2 + 2/4)/4 = 0.25; mAP@5 = (1/2 + 2/4 + 3/5)/5 = 0.32;
    /// mAP@10 (K beyond the database) = 1.6/10; mAP(all) = 1.6/3.
    func testHandComputedRankingWithTies() {
        let m: Float = -1
        let db = codes([[m, m, m, m], [1, 1, 1, 1], [m, m, m, 1], [m, m, 1, 1], [m, m, m, m]])
        let query = codes([[m, m, m, m]])
        let a: [UInt8] = [1, 0], b: [UInt8] = [0, 1]
        let r = RetrievalEvaluation.evaluate(
            queries: query, database: db, queryLabels: labels([a]),
            databaseLabels: labels([b, a, b, a, a]), topK: [2, 4, 5, 10])
        XCTAssertEqual(r.mapAtK[2]!, 0.25, accuracy: 1e-12)
        XCTAssertEqual(r.mapAtK[4]!, 0.25, accuracy: 1e-12)
        XCTAssertEqual(r.mapAtK[5]!, 0.32, accuracy: 1e-12)
        XCTAssertEqual(r.mapAtK[10]!, 0.16, accuracy: 1e-12)
        XCTAssertEqual(r.mapAll, 1.6 / 3, accuracy: 1e-12)
        // precision@K and recall@K (3 relevant items): top 2 holds 1, top 4 holds 2, top 5 all 3.
        XCTAssertEqual(r.precisionAtK[2]!, 0.5, accuracy: 1e-12);
        XCTAssertEqual(r.recallAtK[2]!, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(r.precisionAtK[4]!, 0.5, accuracy: 1e-12);
        XCTAssertEqual(r.recallAtK[4]!, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(r.precisionAtK[10]!, 0.3, accuracy: 1e-12); XCTAssertEqual(r.recallAtK[10]!, 1, accuracy: 1e-12)
        // PR curve by radius: ρ=0 → d0, d4 (1 relevant of 2); ρ=1 adds d2; ρ=2 adds d3; ρ=4 adds d1.
        XCTAssertEqual(r.prCurve.count, 5)
        let expected: [(Double, Double)] = [
            (0.5, 1.0 / 3), (1.0 / 3, 1.0 / 3), (0.5, 2.0 / 3), (0.5, 2.0 / 3), (0.6, 1),
        ]
        for (radius, (p, rc)) in expected.enumerated() {
            XCTAssertEqual(r.prCurve[radius].radius, radius)
            XCTAssertEqual(r.prCurve[radius].precision, p, accuracy: 1e-12, "ρ = \(radius)")
            XCTAssertEqual(r.prCurve[radius].recall, rc, accuracy: 1e-12, "ρ = \(radius)")
        }
    }

    /// Dropping the trivial self-match (query set = database): query 0 then finds d1 (distance 1,
    /// relevant) first.
    func testExcludeSelf() {
        let c = codes([[1, 1], [1, -1], [-1, -1]])
        let l = labels([[1, 0], [1, 0], [0, 1]])
        let kept = RetrievalEvaluation.evaluate(queries: c, database: c, queryLabels: l, databaseLabels: l, topK: [1])
        XCTAssertEqual(kept.mapAtK[1]!, 1, accuracy: 1e-12)
        let dropped = RetrievalEvaluation.evaluate(
            queries: c, database: c, queryLabels: l, databaseLabels: l, topK: [1, 2],
            excludeSelf: true)
        // q0 → d1 (rel), d2; q1 → d0 (rel, tie with d2 at distance 1, smaller index), d2; q2 → d1, d0 (none relevant).
        XCTAssertEqual(dropped.mapAtK[1]!, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(dropped.mapAll, 2.0 / 3, accuracy: 1e-12)
    }

    /// Query set = database (the FCVID protocol): each query finds itself first.
    func testQueryEqualsDatabase() {
        let c = codes([[1, 1], [1, -1], [-1, -1]])
        let l = labels([[1, 0], [0, 1], [1, 0]])
        let r = RetrievalEvaluation.evaluate(queries: c, database: c, queryLabels: l, databaseLabels: l, topK: [1])
        XCTAssertEqual(r.mapAtK[1]!, 1, accuracy: 1e-12)
    }

    /// Agreement with a direct implementation (sort by (distance, index), walk) on random
    /// codes with multi-label relevance.
    func testMatchesBruteForceReference() {
        var g = Philox(seed: 5)
        let bits = 16, n = 300, nq = 40, classes = 6
        func randomCodes(_ count: Int) -> [[Float]] {
            (0..<count).map { _ in (0..<bits).map { _ in g.nextUniform() < 0.5 ? -1 : 1 } }
        }
        func randomLabels(_ count: Int) -> [[UInt8]] {
            (0..<count).map { _ in
                var row = (0..<classes).map { _ in UInt8(g.nextUniform() < 0.2 ? 1 : 0) };
                row[g.nextInt(below: classes)] = 1; return row
            }
        }
        let dbRows = randomCodes(n), qRows = randomCodes(nq), dbL = randomLabels(n), qL = randomLabels(nq)
        let ks = [1, 5, 20, 100, 300, 500]
        let r = RetrievalEvaluation.evaluate(
            queries: codes(qRows), database: codes(dbRows), queryLabels: labels(qL),
            databaseLabels: labels(dbL), topK: ks)
        var expected = [Double](repeating: 0, count: ks.count), expectedAll = 0.0
        for qi in 0..<nq {
            let dist = dbRows.map { row in zip(row, qRows[qi]).filter { $0 != $1 }.count }
            let order = (0..<n).sorted { (dist[$0], $0) < (dist[$1], $1) }
            let rel = order.map { j in (0..<classes).contains { qL[qi][$0] == 1 && dbL[j][$0] == 1 } }
            for (ki, k) in ks.enumerated() {
                var x = 0, s = 0.0
                for r in 0..<min(k, n) where rel[r] { x += 1; s += Double(x) / Double(r + 1) }
                expected[ki] += s / Double(k) / Double(nq)
            }
            var x = 0, s = 0.0
            for r in 0..<n where rel[r] { x += 1; s += Double(x) / Double(r + 1) }
            expectedAll += (x > 0 ? s / Double(x) : 0) / Double(nq)
        }
        for (ki, k) in ks.enumerated() { XCTAssertEqual(r.mapAtK[k]!, expected[ki], accuracy: 1e-12, "K = \(k)") }
        XCTAssertEqual(r.mapAll, expectedAll, accuracy: 1e-12)
        // precision@K, recall@K and the PR curve against the same direct walk.
        for k in ks {
            var p = 0.0, rc = 0.0
            for qi in 0..<nq {
                let dist = dbRows.map { row in zip(row, qRows[qi]).filter { $0 != $1 }.count }
                let order = (0..<n).sorted { (dist[$0], $0) < (dist[$1], $1) }
                let rel = order.map { j in (0..<classes).contains { qL[qi][$0] == 1 && dbL[j][$0] == 1 } }
                let hits = rel.prefix(k).filter { $0 }.count, all = rel.filter { $0 }.count
                p += Double(hits) / Double(k) / Double(nq)
                rc += (all > 0 ? Double(hits) / Double(all) : 0) / Double(nq)
            }
            XCTAssertEqual(r.precisionAtK[k]!, p, accuracy: 1e-12, "precision@\(k)")
            XCTAssertEqual(r.recallAtK[k]!, rc, accuracy: 1e-12, "recall@\(k)")
        }
        for radius in [0, 3, 8, 16] {
            var p = 0.0, pn = 0, rc = 0.0, rn = 0
            for qi in 0..<nq {
                let dist = dbRows.map { row in zip(row, qRows[qi]).filter { $0 != $1 }.count }
                let rel = (0..<n).map { j in (0..<classes).contains { qL[qi][$0] == 1 && dbL[j][$0] == 1 } }
                let inside = (0..<n).filter { dist[$0] <= radius }
                let hit = inside.filter { rel[$0] }.count, all = rel.filter { $0 }.count
                if !inside.isEmpty { p += Double(hit) / Double(inside.count); pn += 1 }
                if all > 0 { rc += Double(hit) / Double(all); rn += 1 }
            }
            XCTAssertEqual(
                r.prCurve[radius].precision, pn > 0 ? p / Double(pn) : 0, accuracy: 1e-12, "PR ρ = \(radius)")
            XCTAssertEqual(r.prCurve[radius].recall, rn > 0 ? rc / Double(rn) : 0, accuracy: 1e-12, "PR ρ = \(radius)")
        }
    }

    /// Queries are processed in chunks across threads: evaluating the queries in two blocks and
    /// combining (query-weighted) gives the one-block result.
    func testBlockwiseEqualsOneBlock() {
        var g = Philox(seed: 12)
        let bits = 24, n = 200, nq = 90, classes = 5
        let dbRows = (0..<n).map { _ in (0..<bits).map { _ in Float(g.nextUniform() < 0.5 ? -1 : 1) } }
        let qRows = (0..<nq).map { _ in (0..<bits).map { _ in Float(g.nextUniform() < 0.5 ? -1 : 1) } }
        let dbL = labels((0..<n).map { _ in (0..<classes).map { _ in UInt8(g.nextUniform() < 0.3 ? 1 : 0) } })
        let qRowsL = (0..<nq).map { _ in (0..<classes).map { _ in UInt8(g.nextUniform() < 0.3 ? 1 : 0) } }
        let ks = [1, 10, 50]
        let whole = RetrievalEvaluation.evaluate(
            queries: codes(qRows), database: codes(dbRows), queryLabels: labels(qRowsL),
            databaseLabels: dbL, topK: ks)
        let split = 37
        let a = RetrievalEvaluation.evaluate(
            queries: codes(Array(qRows[..<split])), database: codes(dbRows),
            queryLabels: labels(Array(qRowsL[..<split])), databaseLabels: dbL, topK: ks)
        let b = RetrievalEvaluation.evaluate(
            queries: codes(Array(qRows[split...])), database: codes(dbRows),
            queryLabels: labels(Array(qRowsL[split...])), databaseLabels: dbL, topK: ks)
        func combine(_ x: Double, _ y: Double) -> Double { (x * Double(split) + y * Double(nq - split)) / Double(nq) }
        for k in ks {
            XCTAssertEqual(whole.mapAtK[k]!, combine(a.mapAtK[k]!, b.mapAtK[k]!), accuracy: 1e-12)
            XCTAssertEqual(whole.precisionAtK[k]!, combine(a.precisionAtK[k]!, b.precisionAtK[k]!), accuracy: 1e-12)
            XCTAssertEqual(whole.recallAtK[k]!, combine(a.recallAtK[k]!, b.recallAtK[k]!), accuracy: 1e-12)
        }
        XCTAssertEqual(whole.mapAll, combine(a.mapAll, b.mapAll), accuracy: 1e-12)
    }

    /// The same relevance written as one-hot rows and as rows with a duplicated class column
    /// (multi-label for class 0) gives identical results.
    func testSingleLabelPathMatchesBitsetPath() {
        var g = Philox(seed: 9)
        let bits = 32, n = 500, classes = 7
        let rows = (0..<n).map { _ in (0..<bits).map { _ in Float(g.nextUniform() < 0.5 ? -1 : 1) } }
        let single = (0..<n).map { _ in g.nextInt(below: classes) }
        let oneHot = labels(single.map { c in (0..<classes).map { UInt8($0 == c ? 1 : 0) } })
        // The same relevance as two-column labels (class, and a constant 0 column) forces the bitset path:
        // a row with an extra all-zero class is still single-label, so add a duplicate class column instead.
        let twoHot = labels(single.map { c in (0..<classes).map { UInt8($0 == c ? 1 : 0) } + [UInt8(c == 0 ? 1 : 0)] })
        XCTAssertNotNil(oneHot.singleClasses())
        XCTAssertNil(
            labels(single.map { c in (0..<classes).map { UInt8($0 == c || $0 == (c + 1) % classes ? 1 : 0) } })
                .singleClasses())
        let a = RetrievalEvaluation.evaluate(
            queries: codes(rows), database: codes(rows), queryLabels: oneHot, databaseLabels: oneHot,
            topK: [5, 50])
        let b = RetrievalEvaluation.evaluate(
            queries: codes(rows), database: codes(rows), queryLabels: twoHot, databaseLabels: twoHot,
            topK: [5, 50])
        XCTAssertNil(twoHot.singleClasses())
        XCTAssertEqual(a, b)
    }

    struct PackFixture: Decodable {
        struct Case: Decodable { let bits: Int; let codes: [[Float]]; let packed: [[UInt8]] }; let cases: [Case]
    }

    /// Packing is numpy.packbits(codes > 0, axis=1), byte for byte (committed fixture).
    func testPackingMatchesNumpyPackbits() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "packbits", withExtension: "json"))
        let fixture = try JSONDecoder().decode(PackFixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.cases.count, 4)
        for c in fixture.cases {
            let packed = codes(c.codes)
            XCTAssertEqual(packed.bytes, c.packed.flatMap { $0 }, "bits \(c.bits)")
            XCTAssertEqual(packed.signs(1), c.codes[1].map { $0 > 0 ? 1 : -1 })
        }
    }
}

import ChainStorage

final class PCABaselineTests: XCTestCase {
    func testEigenDecomposition() {
        // [[2,1],[1,2]]: eigenvalues 3 and 1, vectors (1,1)/√2 and (1,−1)/√2.
        let (values, vectors) = SymmetricEigen.decompose([2, 1, 1, 2], n: 2)
        XCTAssertEqual(values[0], 3, accuracy: 1e-12)
        XCTAssertEqual(values[1], 1, accuracy: 1e-12)
        XCTAssertEqual(abs(vectors[0]), 0.5.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(vectors[0] * vectors[1], 0.5, accuracy: 1e-12)
        XCTAssertEqual(vectors[2] * vectors[3], -0.5, accuracy: 1e-12)
    }

    /// End to end on the shared real-feature set: float16 HDF5 features, scipy-compressed
    /// labels, PCA-sign at 64 bits and the field's mAP@K must reproduce the README's
    /// baseline table (computed there by the set's Python generator).
    func testReproducesMmnistPCABaselineWhenPresent() throws {
        let dirs = ["../shared/data/mmnist", "../../shared/data/mmnist"]
        guard let dir = dirs.first(where: { FileManager.default.fileExists(atPath: $0 + "/mmnist_train_feats.h5") })
        else {
            throw XCTSkip("../shared/data/mmnist is not present")
        }
        let train = try HDF5File(path: dir + "/mmnist_train_feats.h5").dataset("feats").readFloats()
        let test = try HDF5File(path: dir + "/mmnist_test_feats.h5").dataset("feats").readFloats()
        let trainLabels = try LabelReader.read(path: dir + "/mmnist_train_labels.mat")
        let testLabels = try LabelReader.read(path: dir + "/mmnist_test_labels.mat")
        let pca = train.withUnsafeBufferPointer {
            PCASignBaseline(fit: $0.baseAddress!, videos: 800, frames: 25, featureSize: 1280, bits: 64)
        }
        let db = train.withUnsafeBufferPointer { pca.encode($0.baseAddress!, videos: 800, frames: 25) }
        let queries = test.withUnsafeBufferPointer { pca.encode($0.baseAddress!, videos: 200, frames: 25) }
        let r = RetrievalEvaluation.evaluate(
            queries: queries, database: db, queryLabels: testLabels, databaseLabels: trainLabels,
            topK: [5, 20, 40, 60, 80, 100])
        let readme: [Int: Double] = [5: 0.5137, 20: 0.3043, 40: 0.2031, 60: 0.1581, 80: 0.1305, 100: 0.1122]
        // The README rounds to 4 places.
        for (k, v) in readme { XCTAssertEqual(r.mapAtK[k]!, v, accuracy: 1e-4, "mAP@\(k)") }
        XCTAssertEqual(r.mapAll, 0.2430, accuracy: 1e-4)
        print(
            "mmnist PCA-sign 64: "
                + [5, 20, 40, 60, 80, 100].map { String(format: "@%d %.4f", $0, r.mapAtK[$0]!) }.joined(separator: " ")
                + String(format: " all %.4f", r.mapAll))
    }
}
