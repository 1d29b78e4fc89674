import ChainNN
import ChainNumerics

/// Finite-difference verification of analytic gradients.
///
/// Method: central differences (f(θ+ε) − f(θ−ε)) / 2ε with the loss accumulated in double
/// precision from float32 forward passes. With ε = 1e-2 on O(1) inputs the truncation
/// error is O(ε²·f''') ≈ 1e-4 relative and the float32 rounding error of the loss divided
/// by 2ε is ≈ 1e-7·|f|/ε ≈ 1e-5·|f|; an entry passes when
///     |fd − analytic| ≤ atol + rtol·max(|fd|, |analytic|)
/// with rtol = 1e-2 and atol = 1e-3 × (largest analytic magnitude checked) + the noise floor
/// 2e-6·|f|/ε: a deep float32 forward pass carries a relative rounding error of about 1e-6,
/// so differences of two losses divided by 2ε cannot resolve gradients smaller than that
/// (it matters only for entries whose true gradient is ~0, such as attention's key bias).
/// A wrong gradient (a missing term, a wrong sign, a factor) is off by far more than this;
/// the suite includes a test showing that a 5% error in a gradient is detected.
public struct GradientCheck {
    public var epsilon: Float = 1e-2
    public var relativeTolerance: Double = 1e-2
    public var absoluteToleranceFactor: Double = 1e-3

    public init(epsilon: Float = 1e-2, relativeTolerance: Double = 1e-2, absoluteToleranceFactor: Double = 1e-3) {
        self.epsilon = epsilon
        self.relativeTolerance = relativeTolerance
        self.absoluteToleranceFactor = absoluteToleranceFactor
    }

    /// The worst entry found.
    public struct Report: CustomStringConvertible {
        public var checked = 0
        public var failures: [String] = []
        public var worstRatio = 0.0
        public var passed: Bool { failures.isEmpty && checked > 0 }
        public var description: String {
            "\(checked) entries, worst error/tolerance \(String(format: "%.3f", worstRatio))"
                + (failures.isEmpty ? "" : "; failures: " + failures.prefix(5).joined(separator: "; "))
        }
    }

    /// Checks `analytic[k]` against finite differences of `loss` with respect to
    /// `values[indices[k]]` (values is perturbed in place and restored).
    public func check(
        _ label: String, values: UnsafeMutablePointer<Float>, indices: [Int], analytic: [Float],
        loss: () -> Double
    ) -> Report {
        precondition(indices.count == analytic.count)
        var report = Report()
        let scale = analytic.map { Double(abs($0)) }.max() ?? 0
        let noiseFloor = 2e-6 * abs(loss()) / Double(epsilon)
        let atol = absoluteToleranceFactor * max(scale, 1e-6) + noiseFloor
        for (k, i) in indices.enumerated() {
            let original = values[i]
            values[i] = original + epsilon
            let plus = loss()
            values[i] = original - epsilon
            let minus = loss()
            values[i] = original
            let fd = (plus - minus) / (2 * Double(epsilon))
            let an = Double(analytic[k])
            let tolerance = atol + relativeTolerance * max(abs(fd), abs(an))
            let ratio = abs(fd - an) / tolerance
            report.worstRatio = max(report.worstRatio, ratio)
            report.checked += 1
            if ratio > 1 { report.failures.append("\(label)[\(i)]: analytic \(an) vs numeric \(fd)") }
        }
        return report
    }

    /// Checks every parameter of `store` (up to `perParameter` sampled entries each) against
    /// `loss`, given the analytic gradients already accumulated in `store.gradients`.
    public func checkParameters(
        _ store: ParameterStore, perParameter: Int = 24, seed: UInt64 = 99,
        loss: () -> Double
    ) -> Report {
        var combined = Report()
        var g = Philox(seed: seed)
        let gradients = store.gradients.toArray()  // `loss` may overwrite the buffer
        for p in store.layout.parameters {
            let picks =
                p.count <= perParameter ? Array(0..<p.count) : (0..<perParameter).map { _ in g.nextInt(below: p.count) }
            let indices = picks.map { p.offset + $0 }
            let analytic = indices.map { gradients[$0] }
            let r = check(p.name, values: store.values.pointer, indices: indices, analytic: analytic, loss: loss)
            combined.checked += r.checked
            combined.failures += r.failures
            combined.worstRatio = max(combined.worstRatio, r.worstRatio)
        }
        return combined
    }

    /// Checks all entries (or `limit` sampled ones) of an input buffer.
    public func checkInput(
        _ label: String, values: UnsafeMutablePointer<Float>, count: Int, analytic: [Float],
        limit: Int = 64, seed: UInt64 = 98, loss: () -> Double
    ) -> Report {
        var g = Philox(seed: seed)
        let indices = count <= limit ? Array(0..<count) : (0..<limit).map { _ in g.nextInt(below: count) }
        return check(label, values: values, indices: indices, analytic: indices.map { analytic[$0] }, loss: loss)
    }
}

/// Helpers for building random test inputs.
public enum TestData {
    public static func gaussian(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var g = Philox(seed: seed)
        return (0..<count).map { _ in scale * g.nextGaussian() }
    }

    public static func tensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        Tensor(shape: shape, values: gaussian(shape.reduce(1, *), seed: seed, scale: scale))
    }

    /// L = Σ w_i · y_i in double precision: a loss whose gradient dL/dy is w.
    public static func weightedSum(_ y: UnsafePointer<Float>, _ w: [Float]) -> Double {
        var s = 0.0
        for i in 0..<w.count { s += Double(w[i]) * Double(y[i]) }
        return s
    }
}
