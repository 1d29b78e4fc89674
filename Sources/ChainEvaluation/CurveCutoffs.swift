/// The cutoffs K at which the final evaluation is taken, for the mAP@K and precision@K curves:
/// the run's table cutoffs, every 5 from 5 to 100, and, for a database of at most 1,000 videos,
/// on up to its size (about 20 more points past 100) and at its size. Only the table's K
/// may exceed the database size.
public enum CurveCutoffs {
    public static func forDatabase(of size: Int, table: [Int]) -> [Int] {
        var ks = Set(table).union(stride(from: 5, through: 100, by: 5))
        if size <= 1_000 {
            if size > 100 {
                let step = max(5, ((size - 100) / 20 + 4) / 5 * 5)
                ks.formUnion(stride(from: 100 + step, to: size, by: step))
            }
            ks.insert(size)
        }
        // The grid stops at the database size; the table's own K stay whatever they are.
        return ks.filter { $0 >= 1 && $0 <= max(size, 1) }.union(table).sorted()
    }
}
