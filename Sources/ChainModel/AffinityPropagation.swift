import ChainNumerics

/// Affinity propagation (Frey & Dueck 2007) with scikit-learn's exact update, convergence and
/// labelling rules, for the many small problems CHAIN solves each step (one per video).
///
/// It follows `sklearn.cluster.AffinityPropagation` (1.x) step for step, in double precision:
/// preference on the diagonal (default: the median of the whole matrix, diagonal included,
/// numpy's median), damped responsibility and availability updates, convergence when the
/// exemplar set has been unchanged for `convergenceIterations` iterations (checked from
/// iteration `convergenceIterations` on) with at least one exemplar, then the exemplar
/// refinement and gapless relabelling. When it does not converge within `maxIterations`
/// it still labels from the last exemplar set, or returns no clusters (every label −1) if
/// that set is empty — as scikit-learn does.
///
/// Ties: scikit-learn adds noise (ε·S + 100·tiny)·N(0, 1) to S (ε = 2.2e-16). Besides exact
/// ties in S, that noise decides exact ties in the *messages*, which symmetric similarities
/// create (two mutually nearest frames, duplicate frames), and on such problems the result
/// depends on the particular noise. `TieBreaking.scikitLearn(seed:)` adds exactly the noise
/// of `AffinityPropagation(random_state=seed)` (numpy's legacy MT19937 stream, reproduced bit
/// for bit), so labels equal scikit-learn's on every problem — deterministic, since the seed
/// is fixed. `TieBreaking.none` adds nothing and breaks ties by the lowest index (numpy's
/// argmax rule); it equals scikit-learn wherever the noise does not matter. Both are tested
/// against 70 scikit-learn fixtures.
public struct AffinityPropagation: Sendable, Equatable {
    /// What goes on the diagonal of the similarity matrix.
    public enum Preference: Sendable, Equatable {
        /// The median of all n² similarities (scikit-learn's default).
        case median
        case value(Double)
    }

    public var damping: Double
    public var maxIterations: Int
    public var convergenceIterations: Int
    public var preference: Preference
    /// How degenerate (tied) problems are resolved.
    public enum TieBreaking: Sendable, Equatable {
        /// No noise; ties go to the lowest index.
        case none
        /// scikit-learn's noise with `random_state=seed`.
        case scikitLearn(seed: UInt32)
    }
    public var tieBreaking: TieBreaking

    public init(
        damping: Double = 0.5, maxIterations: Int = 200, convergenceIterations: Int = 15,
        preference: Preference = .median, tieBreaking: TieBreaking = .scikitLearn(seed: 0)
    ) {
        precondition(damping >= 0.5 && damping < 1, "affinity propagation damping must be in [0.5, 1), got \(damping)")
        precondition(maxIterations >= 1 && convergenceIterations >= 1, "iteration counts must be positive")
        self.damping = damping
        self.maxIterations = maxIterations
        self.convergenceIterations = convergenceIterations
        self.preference = preference
        self.tieBreaking = tieBreaking
    }

    /// The clustering of one problem.
    public struct Result: Sendable, Equatable {
        /// Cluster index per sample (0..<exemplars.count), or −1 for all when none was found.
        public var labels: [Int]
        /// The exemplar (sample index) of each cluster, ascending.
        public var exemplars: [Int]
        /// Iterations run.
        public var iterations: Int
        /// Whether the convergence rule was met.
        public var converged: Bool
        public var clusterCount: Int { exemplars.count }
    }

    /// Clusters n samples given their n×n row-major similarities (larger = more similar).
    public func fit(similarities input: [Double], count n: Int) -> Result {
        precondition(
            input.count == n * n, "affinity propagation needs an n×n matrix (\(input.count) values for n = \(n))")
        if n == 0 { return Result(labels: [], exemplars: [], iterations: 0, converged: true) }
        let pref: Double
        switch preference {
        case .median: pref = Self.median(input)
        case .value(let v): pref = v
        }
        // All off-diagonal similarities equal (or one sample): scikit-learn returns either
        // every sample as its own exemplar or one cluster, comparing the preference with S[0, n−1].
        var offDiagonalEqual = true
        let firstOff = n > 1 ? input[1] : 0
        for i in 0..<n where offDiagonalEqual {
            for j in 0..<n where i != j && input[i * n + j] != firstOff { offDiagonalEqual = false; break }
        }
        if n == 1 || offDiagonalEqual {
            if pref > input[n - 1] {
                return Result(labels: Array(0..<n), exemplars: Array(0..<n), iterations: 0, converged: true)
            }
            return Result(labels: [Int](repeating: 0, count: n), exemplars: [0], iterations: 0, converged: true)
        }

        var s = input
        for i in 0..<n { s[i * n + i] = pref }
        if case .scikitLearn(let seed) = tieBreaking {
            var g = NumpyRandomState(seed: seed)
            let tiny100 = Double.leastNormalMagnitude * 100
            for k in 0..<(n * n) { s[k] += (Double.ulpOfOne * s[k] + tiny100) * g.nextGaussian() }
        }
        var a = [Double](repeating: 0, count: n * n), r = a, tmp = a
        var history = [[Bool]](repeating: [Bool](repeating: false, count: n), count: convergenceIterations)
        var exemplarFlags = [Bool](repeating: false, count: n)
        var columnSums = [Double](repeating: 0, count: n)
        var converged = false
        var iterations = 0
        let keep = damping, update = 1 - damping

        for it in 0..<maxIterations {
            iterations = it + 1
            // Responsibilities: r(i,k) ← s(i,k) − max_{k'≠k} (a(i,k') + s(i,k')).
            for i in 0..<n {
                var best = 0, first = -Double.infinity, second = -Double.infinity
                for k in 0..<n {
                    let v = a[i * n + k] + s[i * n + k]
                    if v > first { second = first; first = v; best = k } else if v > second { second = v }
                }
                for k in 0..<n {
                    let fresh = s[i * n + k] - (k == best ? second : first)
                    r[i * n + k] = keep * r[i * n + k] + update * fresh
                }
            }
            // Availabilities: a(i,k) ← min(0, r(k,k) + Σ_{i'∉{i,k}} max(0, r(i',k))),
            // a(k,k) ← Σ_{i'≠k} max(0, r(i',k)).
            for i in 0..<n { for k in 0..<n { tmp[i * n + k] = i == k ? r[i * n + k] : max(r[i * n + k], 0) } }
            for k in 0..<n { columnSums[k] = 0 }
            for i in 0..<n { for k in 0..<n { columnSums[k] += tmp[i * n + k] } }
            for i in 0..<n {
                for k in 0..<n {
                    let negated = tmp[i * n + k] - columnSums[k]  // −a_new before clipping
                    let clipped = i == k ? negated : max(negated, 0)
                    a[i * n + k] = keep * a[i * n + k] - update * clipped
                }
            }
            // Convergence bookkeeping.
            var exemplarCount = 0
            for k in 0..<n {
                exemplarFlags[k] = a[k * n + k] + r[k * n + k] > 0
                if exemplarFlags[k] { exemplarCount += 1 }
            }
            history[it % convergenceIterations] = exemplarFlags
            if it >= convergenceIterations {
                var stable = true
                for k in 0..<n {
                    var count = 0
                    for h in history where h[k] { count += 1 }
                    if count != 0 && count != convergenceIterations { stable = false; break }
                }
                if stable && exemplarCount > 0 { converged = true; break }
            }
        }

        var exemplars = (0..<n).filter { exemplarFlags[$0] }
        guard !exemplars.isEmpty else {
            return Result(
                labels: [Int](repeating: -1, count: n), exemplars: [], iterations: iterations, converged: converged)
        }
        // Assign, refine each cluster's exemplar to the member with the largest summed
        // similarity to the other members, and assign again.
        var assignment = assign(s, n, exemplars)
        for c in 0..<exemplars.count {
            let members = (0..<n).filter { assignment[$0] == c }
            var best = members[0], bestSum = -Double.infinity
            for j in members {
                var sum = 0.0
                for i in members { sum += s[i * n + j] }
                if sum > bestSum { bestSum = sum; best = j }
            }
            exemplars[c] = best
        }
        assignment = assign(s, n, exemplars)
        let exemplarOfSample = assignment.map { exemplars[$0] }
        let centers = Array(Set(exemplarOfSample)).sorted()
        let index = Dictionary(uniqueKeysWithValues: centers.enumerated().map { ($1, $0) })
        return Result(
            labels: exemplarOfSample.map { index[$0]! }, exemplars: centers, iterations: iterations,
            converged: converged)
    }

    /// Each sample's most similar exemplar (first on ties); exemplars are their own cluster.
    private func assign(_ s: [Double], _ n: Int, _ exemplars: [Int]) -> [Int] {
        var c = [Int](repeating: 0, count: n)
        for i in 0..<n {
            var best = 0
            for e in 1..<exemplars.count where s[i * n + exemplars[e]] > s[i * n + exemplars[best]] { best = e }
            c[i] = best
        }
        for (e, k) in exemplars.enumerated() { c[k] = e }
        return c
    }

    /// numpy.median: the middle value, or the mean of the two middle values.
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let m = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2
    }

    /// S[i][j] = −‖x_i − x_j‖², summed left to right in double precision, for n points of
    /// `dimension` floats (row-major).
    public static func negativeSquaredDistances(
        _ points: UnsafePointer<Float>, count n: Int, dimension: Int
    ) -> [Double] {
        var s = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in (i + 1)..<max(n, i + 1) {
                var acc = 0.0
                for k in 0..<dimension {
                    let t = Double(points[i * dimension + k]) - Double(points[j * dimension + k])
                    acc += t * t
                }
                s[i * n + j] = -acc
                s[j * n + i] = -acc
            }
        }
        return s
    }
}
