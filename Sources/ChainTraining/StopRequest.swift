import Dispatch
import Foundation

/// Turns SIGTERM and SIGUSR1 (what SLURM and schedulers send before preemption) into a flag
/// that the training loop polls at step boundaries. No work happens in a signal handler:
/// the signals are ignored at process level and delivered to a dispatch source, whose
/// handler only records which signal came.
public final class StopRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32 = 0
    private var sources: [DispatchSourceSignal] = []

    /// Starts listening for `signals`.
    public init(signals: [Int32] = [SIGTERM, SIGUSR1]) {
        for s in signals {
            signal(s, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: s, queue: .global())
            source.setEventHandler { [weak self] in self?.record(s) }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for s in sources { s.cancel() }
    }

    func record(_ s: Int32) { lock.lock(); if received == 0 { received = s }; lock.unlock() }

    /// The first signal received, or 0.
    public var receivedSignal: Int32 { lock.lock(); defer { lock.unlock() }; return received }

    /// Marks a stop as requested (tests, or a caller with its own reason).
    public func request() { record(SIGTERM) }

    /// The signal's name for messages.
    public static func name(_ s: Int32) -> String {
        switch s {
        case SIGTERM: "SIGTERM"
        case SIGUSR1: "SIGUSR1"
        case SIGINT: "SIGINT"
        default: "signal \(s)"
        }
    }
}
