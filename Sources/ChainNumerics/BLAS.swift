import COpenBLAS

/// Row-major matrix products through OpenBLAS, plus its thread controls.
///
/// Every large product in the engine goes through `gemm`. Matrices are row-major with an
/// explicit leading dimension, so strided sub-blocks (a head inside a QKV row) need no copy.
public enum BLAS {
    /// C[m×n] = alpha · op(A) · op(B) + beta · C, all row-major.
    /// `op(A)` is m×k (A is k×m when `transposeA`), `op(B)` is k×n (B is n×k when `transposeB`).
    @inlinable
    public static func gemm(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
            beta, c, blasint(ldc))
    }

    /// Number of threads OpenBLAS uses for one call (OPENBLAS_NUM_THREADS by default).
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// OpenBLAS's build and the kernel it selected, e.g. "OpenBLAS 0.3.21 ... Haswell".
    public static var configuration: String {
        let config = String(cString: openblas_get_config())
        let core = String(cString: openblas_get_corename())
        return "\(config) core=\(core)"
    }
}
