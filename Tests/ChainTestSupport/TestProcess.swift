import Foundation
import XCTest

/// The project's executables and `mpirun` as the tests start them, in a clean environment.
public enum TestTools {
    /// An executable built next to the test bundle (release or debug products folder).
    public static func executable(_ name: String) -> String {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [products, products.deletingLastPathComponent()].map { $0.appendingPathComponent(name).path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// `mpirun`, if Open MPI is installed.
    public static var mpirun: String? {
        ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// `mpirun`, or an `XCTSkip` saying how to install it.
    public static func requireMPIRun() throws -> String {
        guard let mpirun else { throw XCTSkip("mpirun not installed (run launch/setup)") }
        return mpirun
    }

    /// A clean environment for children: no inherited MPI or SLURM job (if this test process
    /// itself initialised MPI, an MPI singleton, its OMPI_/PMIX_ variables would make a child
    /// mpirun believe it runs inside that job), root allowed, one BLAS thread.
    public static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var e = ProcessInfo.processInfo.environment.filter { key, _ in
            !["OMPI_", "PMIX_", "ORTE_", "OPAL_", "PRTE_", "SLURM_"].contains { key.hasPrefix($0) }
        }
        e["OMPI_ALLOW_RUN_AS_ROOT"] = "1"; e["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"; e["OPENBLAS_NUM_THREADS"] = "1"
        for (k, v) in extra { e[k] = v }
        return e
    }

    /// Runs a process to the end (or `timeout`, then a test failure and status −1); returns
    /// its status and combined output.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = environment(),
        directory: String? = nil, timeout: TimeInterval = 120
    ) throws -> (Int32, String) {
        let job = try TestJob(executable, arguments, environment: environment, directory: directory)
        let status = job.wait(timeout)
        XCTAssertNotNil(status, "\(arguments) timed out")
        return (status ?? -1, job.output)
    }

    /// Runs a process to the end with its standard output and standard error kept apart.
    public static func runSeparately(
        _ executable: String, _ arguments: [String],
        environment: [String: String] = environment()
    ) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.environment = environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let output = out.fileHandleForReading.readDataToEndOfFile(),
            error = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self))
    }
}

/// A started process whose combined output goes to a file (no pipe to fill up), to wait for,
/// read while it runs, signal or kill.
public final class TestJob {
    public let process = Process()
    let log: URL

    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = TestTools.environment(),
        directory: String? = nil
    ) throws {
        log = FileManager.default.temporaryDirectory.appendingPathComponent("chain-job-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    deinit { try? FileManager.default.removeItem(at: log) }

    /// Everything it printed so far.
    public var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Waits up to `timeout` seconds; nil if still running (then it is killed).
    public func wait(_ timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.interrupt()
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    /// Waits until the output contains `text` (true), or up to `timeout` seconds or the
    /// process's end (then whether it does).
    public func waitFor(_ text: String, _ timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && process.isRunning {
            if output.contains(text) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return output.contains(text)
    }
}
