/// Wall-clock seconds per named phase of a training step, summed over the calls since the
/// last `reset` (the cost breakdown `chain-bench chain-step` prints).
public final class StepProfile: @unchecked Sendable {
    public private(set) var seconds: [String: Double] = [:]
    /// Phase names in the order they were first seen.
    public private(set) var phases: [String] = []

    public init() {}

    /// Runs `body`, adding its duration to `phase`.
    public func measure<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        defer { add(phase, (ContinuousClock.now - start).seconds) }
        return try body()
    }

    public func add(_ phase: String, _ duration: Double) {
        if seconds[phase] == nil { phases.append(phase) }
        seconds[phase, default: 0] += duration
    }

    public func reset() {
        seconds = [:]
        phases = []
    }
}
