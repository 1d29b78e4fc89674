import Foundation

/// Ends this process when one collective has waited longer than `limit`.
///
/// A rank that dies is noticed by the launcher within seconds, but a *cut* link is not:
/// TCP keeps a silent connection open for many minutes (Open MPI's out-of-band keepalive
/// alone allows 300 s + 9 × 20 s), and every rank sits in MPI_Allreduce meanwhile. The
/// communicator arms the watchdog around each collective (two lock operations, no MPI
/// call); a background thread checks once a second and, past the limit, writes one line
/// naming the rank, its host, the collective and the limit, then exits with `exitCode`. The
/// launcher then ends the job. Like PyTorch's process-group timeout, the limit covers every
/// collective, including ranks waiting while rank 0 alone evaluates or writes a checkpoint,
/// so it must exceed the longest such pause.
public final class CollectiveWatchdog: @unchecked Sendable {
    /// Exit status when the limit is hit: "a peer or the network is lost" (EX_UNAVAILABLE).
    public static let exitCode: Int32 = 69

    public let limit: Duration
    private let lock = NSLock()
    private var armedAt: ContinuousClock.Instant?
    private var operation = ""
    private let describe: @Sendable (_ operation: String, _ waited: Duration) -> String

    /// Starts the watching thread. `describe` builds the message (who, what, what to do).
    public init(limit: Duration, describe: @escaping @Sendable (_ operation: String, _ waited: Duration) -> String) {
        precondition(limit > .zero, "CollectiveWatchdog: the limit must be positive")
        self.limit = limit
        self.describe = describe
        let c = limit.components
        let poll = min(1.0, (Double(c.seconds) + Double(c.attoseconds) * 1e-18) / 4)
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: poll)
                check()
            }
        }
        thread.name = "collective watchdog"
        thread.start()
    }

    /// Marks `operation` as started (the calling thread is about to block in it).
    func arm(_ operation: String) {
        lock.lock()
        armedAt = .now
        self.operation = operation
        lock.unlock()
    }

    /// Marks the current operation as finished.
    func disarm() {
        lock.lock()
        armedAt = nil
        lock.unlock()
    }

    private func check() {
        lock.lock()
        let waited = armedAt.map { ContinuousClock.now - $0 }
        let operation = self.operation
        lock.unlock()
        guard let waited, waited > limit else { return }
        let line = describe(operation, waited) + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        _exit(Self.exitCode)
    }
}
