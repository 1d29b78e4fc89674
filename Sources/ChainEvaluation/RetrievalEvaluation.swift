import ChainData
import Foundation

/// Hamming-ranking retrieval metrics exactly as the self-supervised video-hashing papers'
/// public code computes them (ConMH, S5VH, AutoSSVH).
///
/// - Ranking: database items by Hamming distance to the query, **ties broken by database
///   index** (the public code sorts with numpy's unstable argsort, whose tie order is not
///   defined; ours is). Distances take values 0…bits, so each query's ranking is a
///   counting sort: O(N + bits), and no N×Q matrix is ever formed.
/// - mAP@K: walk the top K; at each relevant item at rank r with x relevant so far, add
///   x/r; AP = sum / **K** (not the number of relevant items); mean over queries.
/// - mAP (all): standard average precision over the whole ranking, dividing by the number
///   of relevant items (0 for a query with none).
public enum RetrievalEvaluation {
    public struct Result: Sendable, Equatable {
        /// mAP@K for each requested K.
        public var mapAtK: [Int: Double]
        public var mapAll: Double
        public var queries: Int
    }

    public static func evaluate(queries: PackedCodes, database: PackedCodes, queryLabels: LabelMatrix,
                                databaseLabels: LabelMatrix, topK: [Int]) -> Result {
        precondition(queries.bits == database.bits, "query and database codes differ in length")
        precondition(queryLabels.rows == queries.count && databaseLabels.rows == database.count, "labels do not match codes")
        precondition(queryLabels.classes == databaseLabels.classes, "query and database labels differ in classes")
        let n = database.count, bits = database.bits
        let (words, q) = queries.wordLayout(), (_, db) = database.wordLayout()
        let (labelWords, qLabels) = queryLabels.bitsets(), (_, dbLabels) = databaseLabels.bitsets()
        let ks = topK.sorted()
        // One row per query: ks.count AP@K values, then AP(all). Each iteration writes only its
        // own row, so the concurrent writes are disjoint.
        let width = ks.count + 1
        let results = SharedBuffer(count: queries.count * width)
        defer { results.free() }
        DispatchQueue.concurrentPerform(iterations: queries.count) { qi in
            var distance = [Int32](repeating: 0, count: n)
            var bucketStart = [Int](repeating: 0, count: bits + 2)
            for j in 0..<n {
                var d = 0
                for w in 0..<words { d += (q[qi * words + w] ^ db[j * words + w]).nonzeroBitCount }
                distance[j] = Int32(d)
                bucketStart[d + 1] += 1
            }
            for b in 1..<(bits + 2) { bucketStart[b] += bucketStart[b - 1] }
            var order = [Int32](repeating: 0, count: n)
            var fill = bucketStart
            for j in 0..<n { let d = Int(distance[j]); order[fill[d]] = Int32(j); fill[d] += 1 }   // stable: index order within a distance
            func relevant(_ j: Int) -> Bool {
                for w in 0..<labelWords where qLabels[qi * labelWords + w] & dbLabels[j * labelWords + w] != 0 { return true }
                return false
            }
            var hits = 0, precisionSum = 0.0, apAtK: [Double] = []
            var k = 0
            for r in 0..<n {
                if relevant(Int(order[r])) { hits += 1; precisionSum += Double(hits) / Double(r + 1) }
                while k < ks.count && ks[k] == r + 1 { apAtK.append(precisionSum / Double(ks[k])); k += 1 }
            }
            while k < ks.count { apAtK.append(precisionSum / Double(ks[k])); k += 1 }   // K beyond the database
            for (index, ap) in apAtK.enumerated() { results.pointer[qi * width + index] = ap }
            results.pointer[qi * width + ks.count] = hits > 0 ? precisionSum / Double(hits) : 0
        }
        let denominator = Double(max(queries.count, 1))
        var map: [Int: Double] = [:]
        for (index, k) in ks.enumerated() {
            map[k] = (0..<queries.count).reduce(0) { $0 + results.pointer[$1 * width + index] } / denominator
        }
        let all = (0..<queries.count).reduce(0) { $0 + results.pointer[$1 * width + ks.count] } / denominator
        return Result(mapAtK: map, mapAll: all, queries: queries.count)
    }
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
