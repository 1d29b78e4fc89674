import ChainData
import ChainDistributed
import Foundation

/// The checkpoint policy of a training run: where to resume from, when to save (every K
/// steps, at each epoch end, and when a stop signal arrives), how many to keep. Every
/// method is collective: rank 0 reads and writes files, and its outcome — including any
/// error — is broadcast, so all ranks continue or fail together and none hangs.
public final class CheckpointManager {
    /// Where training starts.
    public enum Resume: Equatable, Sendable {
        /// From scratch; refuses a folder that already holds checkpoints (they are never overwritten).
        case none
        /// From the newest checkpoint that verifies (damaged ones are reported and skipped), else from scratch.
        case auto
        /// From this file.
        case path(String)

        public init(_ text: String) {
            switch text {
            case "none": self = .none
            case "auto": self = .auto
            default: self = .path(text)
            }
        }
    }

    /// Exit status after a checkpoint taken on SIGTERM/SIGUSR1: "preempted, requeue me" (EX_TEMPFAIL).
    public static let preemptedExitCode: Int32 = 75

    public let directory: String
    /// Save every `every` optimizer steps (0: only at epoch ends and on a stop signal).
    public let every: Int
    public let keep: Int
    /// The run's settings, stored in each checkpoint and compared on resume.
    public let settings: [String: String]
    /// Settings that must be equal to resume exactly (global batch, seed, model shape…).
    public let mustMatch: Set<String>
    /// Stop (with a checkpoint) after this many optimizer steps in total — for tests and
    /// for trying out preemption.
    public var stopAfterStep: Int?
    /// The resolved run config (YAML), stored in every checkpoint.
    public var configText: String?
    let comm: Communicator
    let stop: StopRequest
    let log: (String) -> Void

    public init(
        directory: String, every: Int, keep: Int, settings: [String: String], mustMatch: Set<String>,
        comm: Communicator, stop: StopRequest, log: @escaping (String) -> Void
    ) {
        self.directory = directory; self.every = every; self.keep = keep; self.settings = settings
        self.mustMatch = mustMatch; self.comm = comm; self.stop = stop; self.log = log
    }

    /// Applies the resume mode; returns the position to start from.
    public func start(_ trainer: Trainer, resume: Resume) throws -> DistributedSampler.Position {
        var found: Checkpoint?
        try comm.onRoot {
            switch resume {
            case .none:
                if let existing = Checkpoint.list(in: directory).first {
                    throw CheckpointError(
                        "\(directory) already holds checkpoints (newest: \((existing as NSString).lastPathComponent)); "
                            + "pass --resume auto to continue that run, or choose another --run-dir")
                }
            case .auto:
                found = Checkpoint.newestValid(in: directory) { log("  skipping damaged checkpoint: \($0)") }
            case .path(let path):
                found = try Checkpoint.read(path: path)
            }
            if let found { try check(found) }
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var resuming: [UInt8] = [found == nil ? 0 : 1]
        comm.broadcast(&resuming)
        guard resuming == [1] else {
            if comm.isRoot && resume == .auto { log("  no checkpoint in \(directory): starting from scratch") }
            return .init(epoch: 0, step: 0)
        }
        let position = try trainer.restore(found)
        if comm.isRoot, let m = found?.metadata {
            log(
                "  resumed from step \(m.globalStep) (\(position)), written \(m.created) by \(m.worldSize) rank(s)"
                    + (m.worldSize != comm.size
                        ? "; now \(comm.size) rank(s): same global batches and data order, other dropout masks" : ""))
        }
        return position
    }

    /// Refuses a checkpoint whose settings would not continue the same run.
    func check(_ c: Checkpoint) throws {
        if let mismatch = Self.mismatch(stored: c.metadata.settings, current: settings, keys: mustMatch) {
            throw CheckpointError(mismatch)
        }
    }

    /// The first of `keys` whose stored value differs from this run's, described; nil if all
    /// agree. A key the checkpoint predates counts as its value from before it existed
    /// (`RunConfig.valuesBeforeKeysExisted`).
    public static func mismatch(stored: [String: String], current: [String: String], keys: Set<String>) -> String? {
        for key in keys.sorted() {
            let old = stored[key] ?? RunConfig.valuesBeforeKeysExisted[key]
            if old != current[key] {
                return
                    "the checkpoint was made with \(key) = \(old ?? "unset"); this run has \(current[key] ?? "unset")"
            }
        }
        return nil
    }

    /// The `afterStep` hook: agrees on a stop request across ranks (one tiny all-reduce),
    /// saves when due, and stops after saving when asked to.
    public func afterStep(_ trainer: Trainer, _ event: Trainer.StepEvent) throws -> Trainer.Decision {
        let local = stop.receivedSignal
        let signal = Int32(comm.allReduce(Int(local), .max))
        let limit = stopAfterStep.map { event.globalStep >= $0 } ?? false
        let due = (every > 0 && event.globalStep % every == 0) || event.endsEpoch
        guard due || signal != 0 || limit else { return .proceed }
        try save(trainer, event)
        if signal != 0 || limit {
            if comm.isRoot {
                log(
                    "  "
                        + (signal != 0
                            ? "\(StopRequest.name(signal)) received" : "step limit \(stopAfterStep!) reached")
                        + ": checkpoint written at step \(event.globalStep) (\(event.next)); resume with --resume auto")
            }
            return .stop
        }
        return .proceed
    }

    /// Writes the checkpoint of the state after `event` and prunes old ones.
    public func save(_ trainer: Trainer, _ event: Trainer.StepEvent) throws {
        let checkpoint = trainer.checkpoint(after: event, settings: settings, config: configText)
        let path = (directory as NSString).appendingPathComponent(Checkpoint.fileName(globalStep: event.globalStep))
        try comm.onRoot {
            try checkpoint!.write(to: path)
            Checkpoint.prune(directory, keep: keep)
        }
    }
}
