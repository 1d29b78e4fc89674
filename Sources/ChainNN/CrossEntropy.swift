import Foundation
import ChainNumerics

/// Mean softmax cross-entropy over rows of logits with integer targets.
public enum SoftmaxCrossEntropy {
    /// Returns the mean loss over rows whose target is ≥ 0 (a negative target is ignored)
    /// and writes dL/dlogits · `weight` into `dLogits` (may alias `logits`).
    /// Also returns how many rows had their argmax equal to the target.
    public static func lossAndGradient(
        logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
        rows: Int, classes: Int, dLogits: UnsafeMutablePointer<Float>,
        weight: Float = 1
    ) -> (loss: Double, correct: Int) {
        var total = 0.0, counted = 0, correct = 0
        for r in 0..<rows where targets[r] >= 0 { counted += 1 }
        let scale = counted > 0 ? weight / Float(counted) : 0
        for r in 0..<rows {
            let x = logits + r * classes, d = dLogits + r * classes
            let target = Int(targets[r])
            guard target >= 0 else { d.update(repeating: 0, count: classes); continue }
            precondition(target < classes, "target \(target) outside \(classes) classes")
            var best = 0
            for c in 1..<classes where x[c] > x[best] { best = c }
            if best == target { correct += 1 }
            // log Σ exp − x_target, computed before `d` (which may alias x) is written.
            let logSumExp = Double(x[best]) + log(Double(sumOfExp(x, classes, shift: x[best])))
            total += logSumExp - Double(x[target])
            Softmax.forward(x, d, rows: 1, columns: classes)
            for c in 0..<classes { d[c] *= scale }
            d[target] -= scale
        }
        return (counted > 0 ? total / Double(counted) : 0, correct)
    }

    private static func sumOfExp(_ x: UnsafePointer<Float>, _ n: Int, shift: Float) -> Float {
        var s: Float = 0
        for c in 0..<n { s += VectorMath.exp(x[c] - shift) }
        return s
    }
}
