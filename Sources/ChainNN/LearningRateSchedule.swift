import Foundation

/// A learning rate as a function of training progress.
public protocol LearningRateSchedule: Sendable {
    /// The rate for optimizer step `step` (0-based) taken during epoch `epoch` (0-based).
    func rate(step: Int, epoch: Int) -> Float
}

/// Linear warm-up to `peak` over `warmupSteps`, then cosine decay to `floor` at `totalSteps`.
/// During warm-up step s uses peak·(s+1)/warmupSteps, so the first step is not wasted.
public struct WarmupCosineSchedule: LearningRateSchedule {
    public var peak: Float
    public var floor: Float
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(peak: Float, floor: Float = 0, warmupSteps: Int, totalSteps: Int) {
        precondition(totalSteps > 0 && warmupSteps >= 0, "schedule needs totalSteps > 0, warmupSteps ≥ 0")
        self.peak = peak; self.floor = floor; self.warmupSteps = warmupSteps; self.totalSteps = totalSteps
    }

    public func rate(step: Int, epoch: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        let span = max(totalSteps - warmupSteps, 1)
        let progress = min(Double(step - warmupSteps) / Double(span), 1)
        return floor + (peak - floor) * Float(0.5 * (1 + cos(Double.pi * progress)))
    }
}

/// The ConMH/S5VH step schedule: base·γ^⌊epoch/period⌋, never below `floor`
/// (PyTorch StepLR(step_size: period, gamma: γ) stepped per epoch; ConMH uses 20, 0.9, 1e-5).
public struct StepDecaySchedule: LearningRateSchedule {
    public var base: Float
    public var gamma: Float
    public var period: Int
    public var floor: Float

    public init(base: Float, gamma: Float = 0.9, period: Int = 20, floor: Float = 1e-5) {
        precondition(period > 0, "step decay period must be positive")
        self.base = base; self.gamma = gamma; self.period = period; self.floor = floor
    }

    public func rate(step: Int, epoch: Int) -> Float {
        max(base * Float(pow(Double(gamma), Double(epoch / period))), floor)
    }
}
