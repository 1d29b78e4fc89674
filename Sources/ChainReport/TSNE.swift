import ChainNumerics
import Foundation

/// Exact t-SNE: a 2-D map of points from their pairwise distances, for the map of hash codes
/// by class.
///
/// The algorithm of L. van der Maaten and G. Hinton, "Visualizing Data using t-SNE", JMLR 9
/// (2008), with the optimiser settings of its reference implementation and of scikit-learn's
/// exact method:
/// - affinities p_{j|i} ∝ exp(−β_i d_ij²), with β_i found by bisection so that the
///   perplexity 2^H(P_i) is `perplexity`; then p_ij = (p_{j|i} + p_{i|j}) / 2N;
/// - Student-t similarities q_ij ∝ (1 + |y_i − y_j|²)⁻¹ in the map;
/// - gradient 4 Σ_j (p_ij − q_ij)(1 + |y_i − y_j|²)⁻¹ (y_i − y_j) of KL(P‖Q);
/// - gradient descent with momentum 0.5 then 0.8, per-coordinate gains (+0.2 / ×0.8, at
///   least 0.01), early exaggeration 12 for the first 250 iterations, learning rate
///   max(N / 12 / 4, 50) (scikit-learn's "auto"), y₀ ~ N(0, 10⁻⁴) from the seed.
///
/// Exact means O(N²) work and memory per iteration, which is fine for the ≤ 2,000 points it
/// is used for. Each row's gradient is summed in index order and the rows are split over
/// threads in fixed shares, so the map depends on the seed only, not on the thread count.
public struct TSNE: Sendable {
    public var perplexity = 30.0
    public var iterations = 1000
    public var seed: UInt64 = 1

    public init(perplexity: Double = 30, iterations: Int = 1000, seed: UInt64 = 1) {
        self.perplexity = perplexity; self.iterations = iterations; self.seed = seed
    }

    /// The 2-D positions (x, y per point) of `count` points whose squared distances are
    /// `squaredDistances` (count × count, row-major, symmetric, zero diagonal).
    public func embed(squaredDistances d2: [Float], count n: Int) -> [(x: Double, y: Double)] {
        precondition(d2.count == n * n, "TSNE: \(d2.count) distances for \(n) points")
        guard n > 1 else { return Array(repeating: (0, 0), count: n) }
        let p = affinities(d2, n)
        // The map as two arrays (x and y coordinates, so the inner loops vectorise); update and
        // gains per coordinate, [2, N].
        var xs = [Float](repeating: 0, count: n), ys = xs
        var random = Philox(seed: seed).split("t-SNE")
        for i in 0..<n { xs[i] = 1e-2 * random.nextGaussian(); ys[i] = 1e-2 * random.nextGaussian() }
        var update = [Float](repeating: 0, count: 2 * n), gains = [Float](repeating: 1, count: 2 * n)
        var gradient = [Float](repeating: 0, count: 2 * n)
        let learningRate = Float(max(Double(n) / 12 / 4, 50))
        let parts = min(max(1, ProcessInfo.processInfo.activeProcessorCount), n)
        var partialZ = [Double](repeating: 0, count: parts)
        var kernel = [Float](repeating: 0, count: n * n)  // (1 + |y_i − y_j|²)⁻¹, 0 on the diagonal
        for iteration in 0..<iterations {
            let exaggeration: Float = iteration < 250 ? 12 : 1
            let momentum: Float = iteration < 250 ? 0.5 : 0.8
            // The Student-t kernel and its sum Z (fixed shares, summed in order).
            xs.withUnsafeBufferPointer { xp in
                ys.withUnsafeBufferPointer { yp in
                    kernel.withUnsafeMutableBufferPointer { kp in
                        partialZ.withUnsafeMutableBufferPointer { zp in
                            let xp = xp, yp = yp, kp = kp, zp = zp
                            Parallel.forEach(parts) { part in
                                var z = 0.0
                                for i in Parallel.share(part, of: parts, total: n) {
                                    let xi = xp[i], yi = yp[i], row = kp.baseAddress! + i * n
                                    var sum: Float = 0
                                    for j in 0..<n {
                                        let dx = xi - xp[j], dy = yi - yp[j]
                                        let k = 1 / (1 + dx * dx + dy * dy)
                                        row[j] = k
                                        sum += k
                                    }
                                    row[i] = 0
                                    z += Double(sum) - 1  // without the diagonal's 1
                                }
                                zp[part] = z
                            }
                        }
                    }
                }
            }
            let inverseZ = Float(1 / max(partialZ.reduce(0, +), 1e-300))
            // dC/dy_i = 4 Σ_j (exaggeration·p_ij − k_ij / Z) k_ij (y_i − y_j).
            xs.withUnsafeBufferPointer { xp in
                ys.withUnsafeBufferPointer { yp in
                    kernel.withUnsafeBufferPointer { kp in
                        p.withUnsafeBufferPointer { pp in
                            gradient.withUnsafeMutableBufferPointer { gp in
                                let xp = xp, yp = yp, kp = kp, pp = pp, gp = gp
                                Parallel.forEach(parts) { part in
                                    for i in Parallel.share(part, of: parts, total: n) {
                                        var gx: Float = 0, gy: Float = 0
                                        let xi = xp[i], yi = yp[i]
                                        let kRow = kp.baseAddress! + i * n, pRow = pp.baseAddress! + i * n
                                        for j in 0..<n {  // k_ii = 0: the diagonal adds nothing
                                            let k = kRow[j]
                                            let f = (exaggeration * pRow[j] - k * inverseZ) * k
                                            gx += f * (xi - xp[j])
                                            gy += f * (yi - yp[j])
                                        }
                                        gp[i] = 4 * gx
                                        gp[n + i] = 4 * gy
                                    }
                                }
                            }
                        }
                    }
                }
            }
            for c in 0..<(2 * n) {
                gains[c] = (gradient[c] > 0) != (update[c] > 0) ? gains[c] + 0.2 : max(gains[c] * 0.8, 0.01)
                update[c] = momentum * update[c] - learningRate * gains[c] * gradient[c]
            }
            for i in 0..<n { xs[i] += update[i]; ys[i] += update[n + i] }
        }
        return (0..<n).map { (Double(xs[$0]), Double(ys[$0])) }
    }

    /// p_ij: per row, the β that gives the perplexity (bisection on the entropy, 100 steps
    /// at most), then symmetrised and normalised to sum 1.
    func affinities(_ d2: [Float], _ n: Int) -> [Float] {
        let target = log(max(min(perplexity, Double(n - 1) / 3), 1))
        var conditional = [Double](repeating: 0, count: n * n)
        var row = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var beta = 1.0, low = 0.0, high = Double.infinity
            let base = i * n
            // Distances relative to the nearest, for a stable exp().
            var nearest = Double.infinity
            for j in 0..<n where j != i { nearest = min(nearest, Double(d2[base + j])) }
            for _ in 0..<100 {
                var sum = 0.0, weighted = 0.0
                for j in 0..<n {
                    row[j] = j == i ? 0 : exp(-beta * (Double(d2[base + j]) - nearest))
                    sum += row[j]
                    weighted += row[j] * (Double(d2[base + j]) - nearest)
                }
                let entropy = log(sum) + beta * weighted / sum  // in nats
                if abs(entropy - target) < 1e-5 { break }
                if entropy > target {
                    low = beta; beta = high.isFinite ? (beta + high) / 2 : beta * 2
                } else {
                    high = beta; beta = (beta + low) / 2
                }
            }
            let sum = row.reduce(0, +)
            for j in 0..<n { conditional[base + j] = row[j] / sum }
        }
        var p = [Float](repeating: 0, count: n * n)
        let scale = 1 / (2 * Double(n))
        for i in 0..<n {
            for j in 0..<n {
                p[i * n + j] = Float(max((conditional[i * n + j] + conditional[j * n + i]) * scale, 1e-12))
            }
        }
        return p
    }
}
