import ChainTestSupport
import Foundation
import XCTest

/// Two "hosts" over TCP (issue 17, part 2): network namespaces joined by a veth pair
/// (`launch/netns-hosts`), Open MPI with only its TCP transport between them, ranks on both.
/// Skips where namespaces cannot be made (not root), unless CHAIN_REQUIRE_NETNS=1 (CI).
final class TwoHostTests: XCTestCase {
    var hosts: TwoHosts!
    var folder = ""

    override func setUpWithError() throws {
        hosts = try TwoHosts.up()
        folder = NSTemporaryDirectory() + "chain-two-hosts-\(UUID().uuidString)"
    }

    override func tearDown() {
        hosts?.down()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// `command` under mpirun with `perHost` ranks in each namespace.
    func acrossHosts(_ perHost: Int, _ command: [String], timeout: TimeInterval = 180) throws -> (Int32, String) {
        try hosts.run(perHost, command, timeout: timeout)
    }

    func testStepsAcrossTwoHostsMatchOneProcess() throws {
        let testkit = TestTools.executable("chain-testkit")
        for (perHost, scenario) in [(1, "chain-equivalence"), (1, "conmh-equivalence"), (2, "toy-equivalence")] {
            let (status, output) = try acrossHosts(perHost, [testkit, scenario])
            XCTAssertEqual(status, 0, output)
            XCTAssertTrue(output.contains("PASS \(scenario) on \(2 * perHost) ranks"), output)
        }
    }

    func testTwoHostRunStoppedAndResumedIsBitIdentical() throws {
        let small = SmallSyntheticRun(folder: folder)
        try small.makeData()
        let (s1, whole) = try acrossHosts(1, small.training("whole"))
        XCTAssertEqual(s1, 0, whole)
        XCTAssertTrue(whole.contains("2 rank(s)"), whole)
        let (s2, stopped) = try acrossHosts(1, small.training("resumed", ["--stop-after", "7"]))
        XCTAssertEqual(s2, 75, stopped)
        let (s3, resumed) = try acrossHosts(1, small.training("resumed", ["--resume", "auto"]))
        XCTAssertEqual(s3, 0, resumed)
        XCTAssertTrue(resumed.contains("resumed from step 7"), resumed)
        XCTAssertNotNil(SmallSyntheticRun.checksum(whole), whole)
        XCTAssertEqual(SmallSyntheticRun.checksum(resumed), SmallSyntheticRun.checksum(whole), resumed)
    }

    /// Every rank reads the dataset from the same path: a host that does not see it (here an
    /// empty folder over the data on host b, as a node without the shared mount) ends the
    /// job with one message naming the rank, its host and the file, not an MPI abort.
    func testRankThatCannotReadTheDataFailsClearly() throws {
        let small = SmallSyntheticRun(folder: folder)
        try small.makeData()
        // The dataset config lives outside the hidden folder, so the data files are what is missing.
        let config = folder + "/s.yaml"
        let text = try String(contentsOfFile: small.config, encoding: .utf8)
        try text.replacingOccurrences(of: "root: .", with: "root: data").write(
            toFile: config, atomically: true, encoding: .utf8)
        let started = Date()
        let (status, output) = try hosts.run(
            1, small.training("unread", config: config), environment: ["CHAIN_NETNS_B_HIDE": folder + "/data"])
        XCTAssertEqual(status, 2, output)
        XCTAssertTrue(
            output.contains("chain-train: rank 1 on host \(hosts.name)-b: \(folder)/data/s_train_feats.h5"), output)
        XCTAssertTrue(output.contains("1 of 2 ranks succeeded"), output)
        XCTAssertTrue(output.contains("filesystem that every node mounts"), output)
        XCTAssertFalse(output.contains("MPI_ABORT"), output)
        XCTAssertLessThan(Date().timeIntervalSince(started), 60)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/unread/checkpoints"), "no partial output")
    }

    /// Only rank 0 reads and writes the run folder: with host b seeing an empty, read-only
    /// folder in its place, a run stopped and resumed across the hosts still ends with the
    /// uninterrupted run's parameters.
    func testOnlyRankZeroTouchesTheRunFolder() throws {
        let small = SmallSyntheticRun(folder: folder)
        try small.makeData()
        let runs = folder + "/runs"
        try FileManager.default.createDirectory(atPath: runs, withIntermediateDirectories: true)
        let blind = ["CHAIN_NETNS_B_HIDE": runs, "CHAIN_NETNS_B_READONLY": runs]
        let (s1, whole) = try hosts.run(1, small.training(runs + "/whole"), environment: blind)
        XCTAssertEqual(s1, 0, whole)
        let (s2, stopped) = try hosts.run(1, small.training(runs + "/part", ["--stop-after", "7"]), environment: blind)
        XCTAssertEqual(s2, 75, stopped)
        let (s3, resumed) = try hosts.run(1, small.training(runs + "/part", ["--resume", "auto"]), environment: blind)
        XCTAssertEqual(s3, 0, resumed)
        XCTAssertTrue(resumed.contains("resumed from step 7"), resumed)
        XCTAssertNotNil(SmallSyntheticRun.checksum(whole), whole)
        XCTAssertEqual(SmallSyntheticRun.checksum(resumed), SmallSyntheticRun.checksum(whole), resumed)
    }
}
