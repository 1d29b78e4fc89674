import ChainNN
import ChainNumerics
import Foundation

/// NT-Xent over L2-normalised codes with cross-batch candidates, optionally debiased.
///
/// The candidate matrix holds every code of the *global* batch (all ranks, both views);
/// this rank computes the loss terms of its own rows (`anchors`) only, against all
/// candidates, and returns the gradient for every candidate row, so the owners of the
/// other rows can receive their share (the gather's adjoint, a reduce-scatter). Summed over
/// ranks, the terms and gradients equal one process holding the whole batch.
///
/// For anchor i with positive p(i) and similarities s_ij = ẑ_i·ẑ_j / τ:
/// - plain: ℓ_i = −s_ip + log Σ_{j≠i} e^{s_ij}  (SimCLR's NT-Xent)
/// - debiased (Chuang et al. 2020, as in ConMH): with N = M − 2 negatives,
///   Ng = max((Σ_{j∉{i,p}} e^{s_ij} − τ⁺·N·e^{s_ip}) / (1 − τ⁺), N·e^{−1/τ}),
///   ℓ_i = −log(e^{s_ip} / (e^{s_ip} + Ng)).
/// The loss is Σ_{i∈anchors} ℓ_i / `totalAnchors` (the global mean when every rank passes
/// the global anchor count).
public struct ContrastiveLoss: Sendable, Equatable {
    public var temperature: Float
    /// τ⁺ of the debiased form (the assumed positive class prior), or nil for plain NT-Xent.
    public var debiasPrior: Float?

    public init(temperature: Float = 0.5, debiasPrior: Float? = nil) {
        precondition(temperature > 0, "contrastive temperature must be positive")
        if let t = debiasPrior { precondition(t >= 0 && t < 1, "debias prior τ⁺ must be in [0, 1)") }
        self.temperature = temperature
        self.debiasPrior = debiasPrior
    }

    /// codes: [rows, dim] raw (unnormalised) candidate codes; positives[i]: the positive row
    /// of row i; anchors: the rows whose loss terms this call computes. Accumulates dL/dcodes
    /// for all rows into `dCodes` and returns this call's share of the loss. `workspace`
    /// (reused across calls by a step) holds the scratch; nil allocates it for this call.
    public func lossAndGradient(
        codes: UnsafePointer<Float>, rows m: Int, dim: Int, positives: [Int],
        anchors: Range<Int>, totalAnchors: Int,
        dCodes: UnsafeMutablePointer<Float>, workspace: Workspace? = nil
    ) -> Double {
        precondition(positives.count == m && m >= 2, "contrastive loss needs ≥ 2 rows with a positive each")
        precondition(anchors.lowerBound >= 0 && anchors.upperBound <= m)
        let a = anchors.count
        guard a > 0 else { return 0 }
        let scratch = workspace ?? Workspace()
        // z [m, dim] unit codes, norms [m]; s, ds [a, m] scores and their gradient; dz [m, dim].
        let z = scratch.zeroed(0, count: m * dim), norms = scratch.zeroed(1, count: m)
        RowNormalization.forward(codes, z, norms: norms, rows: m, columns: dim)
        // S = Z_anchors · Zᵀ / τ.
        let s = scratch.zeroed(2, count: a * m), ds = scratch.zeroed(3, count: a * m)
        let zAnchor = z + anchors.lowerBound * dim
        BLAS.gemm(
            transposeB: true, m: a, n: m, k: dim, alpha: 1 / temperature, a: zAnchor, lda: dim,
            b: z, ldb: dim, c: s, ldc: m)
        var total = 0.0
        let scale = 1 / Double(totalAnchors)
        for (local, i) in anchors.enumerated() {
            let row = s + local * m, drow = ds + local * m
            let p = positives[i]
            precondition(p != i && p >= 0 && p < m, "row \(i) has no valid positive")
            if let prior = debiasPrior.map(Double.init) {
                let sp = Double(row[p]), pos = Foundation.exp(sp)
                var negSum = 0.0
                for j in 0..<m where j != i && j != p { negSum += Foundation.exp(Double(row[j])) }
                let n = Double(m - 2)
                let raw = (negSum - prior * n * pos) / (1 - prior)
                let floorValue = n * Foundation.exp(-1 / Double(temperature))
                let clamped = raw < floorValue
                let ng = clamped ? floorValue : raw
                total += Foundation.log(pos + ng) - sp
                let denominator = pos + ng
                for j in 0..<m { drow[j] = 0 }
                if clamped {
                    drow[p] = Float(scale * (pos / denominator - 1))
                } else {
                    drow[p] = Float(scale * (pos * (1 - prior * n / (1 - prior)) / denominator - 1))
                    for j in 0..<m where j != i && j != p {
                        drow[j] = Float(scale * Foundation.exp(Double(row[j])) / (1 - prior) / denominator)
                    }
                }
            } else {
                var maximum = -Double.infinity
                for j in 0..<m where j != i { maximum = max(maximum, Double(row[j])) }
                var sum = 0.0
                for j in 0..<m where j != i { sum += Foundation.exp(Double(row[j]) - maximum) }
                total += maximum + Foundation.log(sum) - Double(row[p])
                for j in 0..<m {
                    drow[j] = j == i ? 0 : Float(scale * Foundation.exp(Double(row[j]) - maximum) / sum)
                }
                drow[p] -= Float(scale)
            }
        }
        // dẐ_anchors += dS·Z/τ ; dẐ_all += dSᵀ·Z_anchors/τ ; then through the normalisation.
        let dz = scratch.zeroed(4, count: m * dim)
        BLAS.gemm(
            m: a, n: dim, k: m, alpha: 1 / temperature, a: ds, lda: m, b: z, ldb: dim,
            beta: 0, c: dz + anchors.lowerBound * dim, ldc: dim)
        BLAS.gemm(
            transposeA: true, m: m, n: dim, k: a, alpha: 1 / temperature, a: ds, lda: m,
            b: zAnchor, ldb: dim, beta: 1, c: dz, ldc: dim)
        RowNormalization.backward(z, dz, norms: norms, dCodes, rows: m, columns: dim, accumulate: true)
        return total * scale
    }
}
