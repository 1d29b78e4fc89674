import CKernels
import ChainData
import Foundation

/// Hamming-ranking retrieval metrics exactly as the self-supervised video-hashing papers'
/// public code computes them (ConMH, S5VH, AutoSSVH), plus the standard ones.
///
/// - Ranking: database items by Hamming distance to the query, **ties broken by database
///   index** (the public code sorts with numpy's unstable argsort, whose tie order is not
///   defined; ours is).
/// - mAP@K: walk the top K; at each relevant item at rank r with x relevant so far, add
///   x/r; AP = sum / **K** (not the number of relevant items); mean over queries.
/// - mAP (all): standard average precision over the whole ranking, dividing by the number
///   of relevant items (0 for a query with none).
/// - precision@K = relevant in the top K / K; recall@K = relevant in the top K / relevant.
/// - PR curve over Hamming radii ρ = 0…bits: for the items within distance ρ, precision
///   (relevant / retrieved; queries retrieving nothing are left out of that radius's mean)
///   and recall (relevant retrieved / relevant; queries with no relevant item left out).
///
/// No Q×N matrix is formed and nothing is sorted. Each query first marks its relevant items
/// in a byte map through per-class inverted lists, then makes one sequential pass over the
/// database computing distances (popcount of XOR) and counting items per distance. Ties are
/// broken by index, so a relevant item's rank is (items at smaller distances) + (items at
/// its distance with a smaller index) + 1, both known from the counts. Memory: the codes,
/// the inverted lists and O(N) bytes per thread.
public enum RetrievalEvaluation {
    public struct Result: Sendable, Equatable {
        /// mAP@K for each requested K.
        public var mapAtK: [Int: Double]
        public var mapAll: Double
        public var precisionAtK: [Int: Double]
        public var recallAtK: [Int: Double]
        /// Index ρ: the items within Hamming distance ρ (ρ = 0…bits).
        public var prCurve: [(radius: Int, precision: Double, recall: Double)]
        /// Query–item pairs at each Hamming distance 0…bits, summed over the queries: all of
        /// them, and the relevant ones (the distance histograms of relevant vs irrelevant pairs).
        public var pairsAtDistance: [Double] = []
        public var relevantPairsAtDistance: [Double] = []
        public var queries: Int

        public static func == (a: Result, b: Result) -> Bool {
            a.mapAtK == b.mapAtK && a.mapAll == b.mapAll && a.precisionAtK == b.precisionAtK
                && a.recallAtK == b.recallAtK
                && a.queries == b.queries && a.prCurve.elementsEqual(b.prCurve) { $0 == $1 }
        }
    }

    /// Evaluates `queries` against `database`. With `excludeSelf`, query i does not retrieve
    /// database item i (for query set = database protocols that drop the trivial match; the
    /// public FCVID protocol keeps it, the default).
    public static func evaluate(
        queries: PackedCodes, database: PackedCodes, queryLabels: LabelMatrix,
        databaseLabels: LabelMatrix, topK: [Int], excludeSelf: Bool = false
    ) -> Result {
        precondition(
            queryLabels.rows == queries.count && databaseLabels.rows == database.count, "labels do not match codes")
        precondition(queryLabels.classes == databaseLabels.classes, "query and database labels differ in classes")
        // Relevance through inverted lists: for each class, the database items carrying it.
        var inverted = [[Int32]](repeating: [], count: databaseLabels.classes)
        for j in 0..<database.count {
            for c in 0..<databaseLabels.classes where databaseLabels.values[j * databaseLabels.classes + c] != 0 {
                inverted[c].append(Int32(j))
            }
        }
        let queryClasses = (0..<queries.count).map { i in
            (0..<queryLabels.classes).filter { queryLabels.values[i * queryLabels.classes + $0] != 0 }
        }
        return evaluate(
            queries: queries, database: database, relevance: .classes(inverted, queryClasses),
            topK: topK, excludeSelf: excludeSelf)
    }

    /// Near-duplicate retrieval: query i's only relevant item is database item `sources[i]`
    /// (a copy of a video against the originals; relevant = same source video).
    public static func evaluate(
        queries: PackedCodes, database: PackedCodes, sources: [Int], topK: [Int]
    ) -> Result {
        precondition(sources.count == queries.count, "one source per query")
        precondition(sources.allSatisfy { $0 >= 0 && $0 < database.count }, "sources outside the database")
        return evaluate(
            queries: queries, database: database, relevance: .items(sources.map { [Int32($0)] }),
            topK: topK, excludeSelf: false)
    }

    /// Which database items are relevant to each query.
    enum Relevance: Sendable {
        /// Each class's items, and each query's classes (multi-hot labels).
        case classes([[Int32]], [[Int]])
        /// Each query's relevant items.
        case items([[Int32]])
    }

    static func evaluate(
        queries: PackedCodes, database: PackedCodes, relevance: Relevance, topK: [Int], excludeSelf: Bool
    ) -> Result {
        precondition(queries.bits == database.bits, "query and database codes differ in length")
        precondition(!excludeSelf || queries.count == database.count, "excludeSelf needs queries = database")
        let n = database.count, bits = database.bits
        let (words, qArray) = queries.wordLayout(), (_, dbArray) = database.wordLayout()
        // Raw pointers for the inner loop (the arrays outlive the concurrent loop below).
        let q = UnsafeBuffer(qArray), db = UnsafeBuffer(dbArray)
        defer { q.free(); db.free() }
        let ks = topK.sorted()
        let maxK = min(ks.last ?? 0, n)
        // Per query: mAP@K, precision@K, recall@K for each K, AP(all), then per radius the
        // cumulative retrieved and relevant-retrieved counts and the relevant total.
        let perK = 3 * ks.count
        let width = perK + 1 + 2 * (bits + 1) + 1
        let results = SharedBuffer(count: queries.count * width)
        defer { results.free() }
        let chunks = min(queries.count, max(1, ProcessInfo.processInfo.activeProcessorCount * 8))
        // Per query, its relevant items are marked in a byte map before the scan and cleared
        // after, so the scan tests one byte per item whatever the number of classes.
        @Sendable func mark(_ qi: Int, _ mark: inout [UInt8], _ value: UInt8) {
            switch relevance {
            case .classes(let itemsOfClass, let queryClasses):
                for c in queryClasses[qi] { for j in itemsOfClass[c] { mark[Int(j)] = value } }
            case .items(let items):
                for j in items[qi] { mark[Int(j)] = value }
            }
        }
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            // Per-thread buffers, reused for every query of the chunk.
            var start = [Int](repeating: 0, count: bits + 1), relevantStart = start
            // Relevant items: distance, and the items / relevant items at that distance with a smaller index.
            var hitDistance = [Int32](repeating: 0, count: max(n, 1))
            var hitSeen = [Int64](repeating: 0, count: max(n, 1)), hitSeenRelevant = hitSeen
            var counts = [Int64](repeating: 0, count: bits + 1), relevantCounts = counts
            var lanes = [Int64](repeating: 0, count: 4 * (bits + 1))
            var marks = [UInt8](repeating: 0, count: max(n, 1))
            var rankContribution = [Double](repeating: 0, count: maxK + 1)  // x/r at rank r
            var rankRelevant = [Int](repeating: 0, count: maxK + 1)  // 1 if rank r is relevant
            let first = chunk * queries.count / chunks, last = (chunk + 1) * queries.count / chunks
            for qi in first..<last {
                for b in 0...bits { counts[b] = 0; relevantCounts[b] = 0 }
                for r in 0...maxK { rankContribution[r] = 0; rankRelevant[r] = 0 }
                // One pass in index order (C kernel, POPCNT when available). Ties are broken by
                // index, so when item j is reached, count[d] is the number of items before it at d.
                mark(qi, &marks, 1)
                let relevantFound = Int(
                    chain_hamming_scan(
                        q.pointer + qi * words, db.pointer, Int64(words), Int64(n), &marks,
                        excludeSelf ? Int64(qi) : -1, &counts, &relevantCounts, Int64(bits + 1), &lanes,
                        &hitDistance, &hitSeen, &hitSeenRelevant))
                mark(qi, &marks, 0)
                var total = 0, totalRelevant = 0
                for b in 0...bits {
                    start[b] = total; relevantStart[b] = totalRelevant
                    total += Int(counts[b]); totalRelevant += Int(relevantCounts[b])
                }
                var precisionSum = 0.0
                for h in 0..<relevantFound {
                    let d = Int(hitDistance[h])
                    let rank = start[d] + Int(hitSeen[h]) + 1, x = relevantStart[d] + Int(hitSeenRelevant[h]) + 1
                    let p = Double(x) / Double(rank)
                    precisionSum += p
                    if rank <= maxK { rankContribution[rank] = p; rankRelevant[rank] = 1 }
                }
                // The top-K metrics from the per-rank values.
                let row = results.pointer + qi * width
                var sum = 0.0, hits = 0, r = 0
                for (index, k) in ks.enumerated() {
                    while r < min(k, maxK) { r += 1; sum += rankContribution[r]; hits += rankRelevant[r] }
                    row[index] = sum / Double(k)
                    row[ks.count + index] = Double(hits) / Double(k)
                    row[2 * ks.count + index] = totalRelevant > 0 ? Double(hits) / Double(totalRelevant) : 0
                }
                row[perK] = totalRelevant > 0 ? precisionSum / Double(totalRelevant) : 0
                var retrieved = 0, relevantRetrieved = 0
                for b in 0...bits {
                    retrieved += Int(counts[b]); relevantRetrieved += Int(relevantCounts[b])
                    row[perK + 1 + 2 * b] = Double(retrieved)
                    row[perK + 2 + 2 * b] = Double(relevantRetrieved)
                }
                row[width - 1] = Double(totalRelevant)
            }
        }
        let denominator = Double(max(queries.count, 1))
        func mean(_ column: Int) -> Double {
            (0..<queries.count).reduce(0) { $0 + results.pointer[$1 * width + column] } / denominator
        }
        var map: [Int: Double] = [:], precision: [Int: Double] = [:], recall: [Int: Double] = [:]
        for (index, k) in ks.enumerated() {
            map[k] = mean(index); precision[k] = mean(ks.count + index); recall[k] = mean(2 * ks.count + index)
        }
        var curve: [(radius: Int, precision: Double, recall: Double)] = []
        for b in 0...bits {
            var p = 0.0, pn = 0, rc = 0.0, rn = 0
            for qi in 0..<queries.count {
                let row = results.pointer + qi * width
                let retrieved = row[perK + 1 + 2 * b], hit = row[perK + 2 + 2 * b], all = row[width - 1]
                if retrieved > 0 { p += hit / retrieved; pn += 1 }
                if all > 0 { rc += hit / all; rn += 1 }
            }
            curve.append((b, pn > 0 ? p / Double(pn) : 0, rn > 0 ? rc / Double(rn) : 0))
        }
        var pairs = [Double](repeating: 0, count: bits + 1), relevantPairs = pairs
        for qi in 0..<queries.count {
            let row = results.pointer + qi * width
            for b in 0...bits {
                pairs[b] += row[perK + 1 + 2 * b] - (b > 0 ? row[perK + 1 + 2 * (b - 1)] : 0)
                relevantPairs[b] += row[perK + 2 + 2 * b] - (b > 0 ? row[perK + 2 + 2 * (b - 1)] : 0)
            }
        }
        return Result(
            mapAtK: map, mapAll: mean(perK), precisionAtK: precision, recallAtK: recall, prCurve: curve,
            pairsAtDistance: pairs, relevantPairsAtDistance: relevantPairs, queries: queries.count)
    }
}

/// A read-only copy of an array behind a raw pointer (shared by concurrent iterations).
final class UnsafeBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<UInt64>
    init(_ values: [UInt64]) {
        pointer = .allocate(capacity: max(values.count, 1))
        values.withUnsafeBufferPointer {
            if let base = $0.baseAddress { pointer.initialize(from: base, count: values.count) }
        }
    }
    func free() { pointer.deallocate() }
}

/// A raw buffer shared by concurrent iterations that write disjoint elements.
final class SharedBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Double>
    init(count: Int) {
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }
    func free() { pointer.deallocate() }
}
