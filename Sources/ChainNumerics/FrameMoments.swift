/// Running sums of feature rows, for their mean and covariance: Σx and Σxxᵀ in double
/// precision. Rows are buffered and each block of up to `blockRows` rows is added with one
/// single-precision product (the Gram matrix of 1,024 rows), so a sample of 10⁵ frames of
/// 1,280 features costs seconds, not minutes.
public struct FrameMoments: Sendable {
    public let featureSize: Int
    /// Rows added so far (flushed or not).
    public private(set) var rows = 0
    /// [F + F·F]: Σx, then Σxxᵀ row-major: one flat buffer, so ranks can sum it in one call.
    /// Complete only after `flush()`.
    public var sums: [Double]
    static let blockRows = 1024
    private var block: [Float] = []
    private var blockCount = 0

    public init(featureSize: Int) {
        self.featureSize = featureSize
        sums = [Double](repeating: 0, count: featureSize + featureSize * featureSize)
    }

    /// Adds `rows` rows of `featureSize` floats.
    public mutating func add(_ x: UnsafePointer<Float>, rows count: Int) {
        let f = featureSize
        if block.isEmpty { block = [Float](repeating: 0, count: Self.blockRows * f) }
        var r = 0
        while r < count {
            let n = min(count - r, Self.blockRows - blockCount)
            block.withUnsafeMutableBufferPointer {
                ($0.baseAddress! + blockCount * f).update(from: x + r * f, count: n * f)
            }
            blockCount += n
            r += n
            rows += n
            if blockCount == Self.blockRows { flush() }
        }
    }

    /// Adds the buffered rows into `sums`.
    public mutating func flush() {
        guard blockCount > 0 else { return }
        let f = featureSize, n = blockCount
        var gram = [Float](repeating: 0, count: f * f)
        block.withUnsafeBufferPointer { x in
            BLAS.gemm(
                transposeA: true, m: f, n: f, k: n, a: x.baseAddress!, lda: f, b: x.baseAddress!, ldb: f,
                c: &gram, ldc: f)
            for r in 0..<n { for k in 0..<f { sums[k] += Double(x[r * f + k]) } }
        }
        for i in 0..<(f * f) { sums[f + i] += Double(gram[i]) }
        blockCount = 0
    }

    /// The mean row [F] (after `flush`).
    public var mean: [Double] { sums[0..<featureSize].map { $0 / Double(max(rows, 1)) } }

    /// The covariance [F, F] row-major, normalised by the row count (after `flush`).
    public var covariance: [Double] {
        let f = featureSize, n = Double(max(rows, 1)), mu = mean
        var c = [Double](repeating: 0, count: f * f)
        for i in 0..<f { for j in 0..<f { c[i * f + j] = sums[f + i * f + j] / n - mu[i] * mu[j] } }
        return c
    }

    /// Sets the row count after the sums were combined with other processes' (whose rows
    /// were not counted here).
    public mutating func setRows(_ total: Int) { rows = total }
}
