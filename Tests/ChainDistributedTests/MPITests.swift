import Foundation
import XCTest

/// Runs the MPI scenarios of `chain-testkit` under `mpirun -np N` (and as a plain process,
/// which MPI treats as a world of one) and checks they pass.
final class MPITests: XCTestCase {
    static var testkit: String {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [products, products.deletingLastPathComponent()].map { $0.appendingPathComponent("chain-testkit").path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    static var mpirun: String? {
        ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs a process with a deadline; returns (exit status, combined output).
    func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 120) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        // A clean MPI environment: if this test process itself initialised MPI (other tests
        // run single-process trainers, an MPI singleton), its OMPI_/PMIX_ variables would
        // make the child mpirun believe it runs inside that job.
        var environment = ProcessInfo.processInfo.environment.filter { key, _ in
            !["OMPI_", "PMIX_", "ORTE_", "OPAL_", "PRTE_"].contains { key.hasPrefix($0) }
        }
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        environment["OPENBLAS_NUM_THREADS"] = "1"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { process.terminate(); XCTFail("\(arguments) timed out") }
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, output)
    }

    func mpi(_ ranks: Int, _ scenario: String) throws {
        guard let mpirun = Self.mpirun else { throw XCTSkip("mpirun not installed (run launch/setup)") }
        let (status, output) = try run(mpirun, ["-np", "\(ranks)", "--oversubscribe", "--bind-to", "none",
                                                Self.testkit, scenario])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("PASS \(scenario) on \(ranks) ranks"), output)
    }

    func testCollectivesOnTwoRanks() throws { try mpi(2, "collectives") }
    func testCollectivesOnThreeRanks() throws { try mpi(3, "collectives") }
    /// Sharded (all-to-all) and streaming sources serve the sampler's batches exactly, at
    /// world sizes 1–4, and sharded training matches one process.
    func testDataSourcesOnOneToFourRanks() throws { for n in 1...4 { try mpi(n, "data-sources") } }
    func testDataParallelToyMatchesSingleProcessOnTwoRanks() throws { try mpi(2, "toy-equivalence") }
    func testDataParallelToyMatchesSingleProcessOnFourRanks() throws { try mpi(4, "toy-equivalence") }

    /// CHAIN and ConMH steps over N ranks equal one process with the whole batch (global
    /// contrastive gathers with gradients returned by reduce-scatter, gathered scene prototypes).
    func testCHAINStepMatchesSingleProcessOnTwoRanks() throws { try mpi(2, "chain-equivalence") }
    func testCHAINStepMatchesSingleProcessOnFourRanks() throws { try mpi(4, "chain-equivalence") }
    func testConMHStepMatchesSingleProcessOnTwoRanks() throws { try mpi(2, "conmh-equivalence") }
    func testConMHStepMatchesSingleProcessOnFourRanks() throws { try mpi(4, "conmh-equivalence") }

    func testSingletonWithoutMpirun() throws {
        let (status, output) = try run(Self.testkit, ["collectives"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("PASS collectives on 1 ranks"), output)
    }

    /// A failing rank takes the whole job down promptly instead of leaving others in a collective.
    func testFailingRankEndsTheJob() throws {
        guard let mpirun = Self.mpirun else { throw XCTSkip("mpirun not installed") }
        let start = Date()
        let (status, output) = try run(mpirun, ["-np", "2", "--oversubscribe", Self.testkit, "no-such-scenario"], timeout: 60)
        XCTAssertNotEqual(status, 0, output)
        XCTAssertTrue(output.contains("unknown scenario"), output)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
    }
}
