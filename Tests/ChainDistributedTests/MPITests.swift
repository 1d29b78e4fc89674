import ChainTestSupport
import Foundation
import XCTest

/// Runs the MPI scenarios of `chain-testkit` under `mpirun -np N` (and as a plain process,
/// which MPI treats as a world of one) and checks they pass.
final class MPITests: XCTestCase {
    static var testkit: String { TestTools.executable("chain-testkit") }
    static var mpirun: String? { TestTools.mpirun }

    func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 120) throws -> (Int32, String) {
        try TestTools.run(executable, arguments, timeout: timeout)
    }

    func mpi(_ ranks: Int, _ scenario: String) throws {
        let mpirun = try TestTools.requireMPIRun()
        let (status, output) = try run(
            mpirun,
            [
                "-np", "\(ranks)", "--oversubscribe", "--bind-to", "none",
                Self.testkit, scenario,
            ])
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

    /// Every rank learns which ranks failed a step, on which host, and why (`Communicator.agree`).
    func testAgreementOnFailuresOnThreeRanks() throws { try mpi(3, "agreement") }

    /// A collective that waits past the watchdog's limit ends the job with status 69 and a
    /// message naming the collective, long before the late rank would have arrived.
    func testCollectiveWatchdogEndsAWaitPastItsLimit() throws {
        let mpirun = try TestTools.requireMPIRun()
        let start = Date()
        let (status, output) = try run(
            mpirun, ["-np", "2", "--oversubscribe", "--bind-to", "none", Self.testkit, "watchdog"], timeout: 60)
        XCTAssertEqual(status, 69, output)
        XCTAssertTrue(output.contains("chain-testkit (rank 0): MPI_Barrier has waited 1 s"), output)
        XCTAssertFalse(output.contains("the barrier completed"), output)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "ended by the watchdog, not by the late rank")
    }

    func testSingletonWithoutMpirun() throws {
        let (status, output) = try run(Self.testkit, ["collectives"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("PASS collectives on 1 ranks"), output)
    }

    /// A failing rank takes the whole job down promptly instead of leaving others in a collective.
    func testFailingRankEndsTheJob() throws {
        let mpirun = try TestTools.requireMPIRun()
        let start = Date()
        let (status, output) = try run(
            mpirun, ["-np", "2", "--oversubscribe", Self.testkit, "no-such-scenario"], timeout: 60)
        XCTAssertNotEqual(status, 0, output)
        XCTAssertTrue(output.contains("unknown scenario"), output)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
    }
}
