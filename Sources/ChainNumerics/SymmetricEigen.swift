import COpenBLAS

/// Eigen-decomposition of a real symmetric matrix through LAPACK's dsyevd (divide and
/// conquer, double precision), as OpenBLAS ships it.
public enum SymmetricEigen {
    /// Eigenvalues in descending order, and the matching unit eigenvectors as the rows of an
    /// n×n row-major array. `matrix` is n×n row-major (only its upper triangle is read).
    public static func decompose(_ matrix: [Double], n: Int) -> (values: [Double], vectors: [Double]) {
        precondition(matrix.count == n * n, "eigen: \(matrix.count) values for \(n)×\(n)")
        // Row-major symmetric = column-major symmetric; LAPACK returns eigenvectors as columns
        // (column-major), i.e. as rows of the row-major result.
        var a = matrix
        var w = [Double](repeating: 0, count: n)
        var info: Int32 = 0
        var nn = Int32(n), lda = Int32(n)
        var lwork: Int32 = -1, liwork: Int32 = -1
        var workQuery = [Double](repeating: 0, count: 1), iworkQuery = [Int32](repeating: 0, count: 1)
        dsyevd_("V", "L", &nn, &a, &lda, &w, &workQuery, &lwork, &iworkQuery, &liwork, &info)
        lwork = Int32(workQuery[0]); liwork = iworkQuery[0]
        var work = [Double](repeating: 0, count: Int(lwork)), iwork = [Int32](repeating: 0, count: Int(liwork))
        dsyevd_("V", "L", &nn, &a, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
        precondition(info == 0, "dsyevd failed (info \(info))")
        var values = [Double](), vectors = [Double]()
        for k in stride(from: n - 1, through: 0, by: -1) {
            values.append(w[k])
            vectors += a[(k * n)..<((k + 1) * n)]
        }
        return (values, vectors)
    }
}
