/// Nearest neighbours of one code by Hamming distance, ties broken by database index (the
/// same order the evaluation ranks by), keeping only the best `count`.
public enum HammingSearch {
    public static func nearest(
        to query: Int, in queries: PackedCodes, database: PackedCodes, count: Int
    ) -> [(index: Int, distance: Int)] {
        precondition(queries.bits == database.bits, "codes differ in length")
        let bits = database.bits
        var perDistance = [[Int]](repeating: [], count: bits + 1)
        let one = PackedCodes(
            count: 1, bits: bits,
            bytes: Array(queries.bytes[(query * queries.bytesPerCode)..<((query + 1) * queries.bytesPerCode)]))
        let (words, q) = one.wordLayout(), (_, db) = database.wordLayout()
        for j in 0..<database.count {
            var d = 0
            for w in 0..<words { d += (q[w] ^ db[j * words + w]).nonzeroBitCount }
            if perDistance[d].count < count { perDistance[d].append(j) }  // index order within a distance
        }
        var out: [(index: Int, distance: Int)] = []
        for d in 0...bits {
            for j in perDistance[d] where out.count < count { out.append((j, d)) }
            if out.count == count { break }
        }
        return out
    }
}
