import ChainTestSupport
import ChainTraining
import Foundation
import XCTest

/// Faults on two "hosts" (`launch/netns-hosts`, issue 17 part 3), each with a bounded time:
/// a host killed, the link cut, a rank that stops answering, and a slow, lossy link. Every
/// test checks how fast the job ends, what it says, and that the checkpoints survive; the
/// figures are reported in docs/distributed.md ("Faults").
final class TwoHostFaultTests: XCTestCase {
    var hosts: TwoHosts!
    var folder = ""
    var small: SmallSyntheticRun { SmallSyntheticRun(folder: folder) }

    override func setUpWithError() throws {
        hosts = try TwoHosts.up()
        folder = NSTemporaryDirectory() + "chain-faults-\(UUID().uuidString)"
        try small.makeData()
    }

    override func tearDown() {
        hosts?.down()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// A long run across the hosts (≈ 400 steps a second), checkpointing every 100 steps,
    /// started in the background; returns once its checkpoint of step ≥ 200 is on disk.
    func startLongRun(_ runDir: String, _ extra: [String] = []) throws -> TestJob {
        let job = try hosts.start(1, small.training(runDir, epochs: 20_000, ["checkpoints.every=100"] + extra))
        let checkpoints = folder + "/" + runDir + "/checkpoints"
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline && job.process.isRunning {
            if Checkpoint.list(in: checkpoints).count >= 2 { return job }  // steps 100 and 200
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTFail("no checkpoint of step 200 within 90 s: \(job.output)")
        throw XCTSkip("the run did not get going")
    }

    /// The newest checkpoint of a run reads back and verifies (its CRC over every array).
    func assertNewestCheckpointVerifies(_ runDir: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let newest = Checkpoint.list(in: folder + "/" + runDir + "/checkpoints").first else {
            return XCTFail("no checkpoint in \(runDir)", file: file, line: line)
        }
        XCTAssertNoThrow(try Checkpoint.read(path: newest), file: file, line: line)
    }

    /// Host b dies (every process on it, kill -9): the job ends within 30 s naming the lost
    /// host, the newest checkpoint verifies, and --resume auto finishes with the parameters
    /// of a run that was never interrupted.
    func testKilledHostEndsTheJobAndTheRunResumesBitIdentically() throws {
        let epochs = 150  // 900 steps
        let (s0, whole) = try hosts.run(1, small.training("whole", epochs: epochs, ["checkpoints.every=100"]))
        XCTAssertEqual(s0, 0, whole)
        let job = try hosts.start(1, small.training("crashed", epochs: epochs, ["checkpoints.every=100"]))
        XCTAssertTrue(job.waitFor("epoch  40/", 60), job.output)
        let killed = Date()
        try hosts.action("crash", "b")
        let status = job.wait(30)
        let seconds = Date().timeIntervalSince(killed)
        XCTAssertNotNil(status, "the job must end within 30 s of losing a host")
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(job.output.contains(TwoHosts.remoteAddress), "names the lost host: \(job.output)")
        print("fault: host killed → job ended in \(String(format: "%.1f", seconds)) s, status \(status ?? -1)")
        assertNewestCheckpointVerifies("crashed")
        let (s1, resumed) = try hosts.run(
            1, small.training("crashed", epochs: epochs, ["checkpoints.every=100", "--resume", "auto"]))
        XCTAssertEqual(s1, 0, resumed)
        XCTAssertTrue(resumed.contains("resumed from step"), resumed)
        XCTAssertNotNil(SmallSyntheticRun.checksum(whole), whole)
        XCTAssertEqual(SmallSyntheticRun.checksum(resumed), SmallSyntheticRun.checksum(whole), resumed)
    }

    /// The link goes down mid-step (no packet, no reset): Open MPI's daemons, with the
    /// keepalive our launch scripts set (15 s + 5 × 3 s), declare host b lost and end the job
    /// within that bound; the checkpoints stay intact.
    func testCutLinkEndsTheJobWithinTheKeepaliveBound() throws {
        let job = try startLongRun("cut")
        let cut = Date()
        try hosts.action("cut")
        let status = job.wait(60)
        let seconds = Date().timeIntervalSince(cut)
        XCTAssertNotNil(status, "the job must end after the link is cut")
        XCTAssertNotEqual(status, 0)
        XCTAssertLessThanOrEqual(seconds, 45, "15 s + 5 × 3 s of keepalive silence, plus slack for a loaded machine")
        XCTAssertTrue(job.output.contains("lost communication with a remote daemon"), job.output)
        XCTAssertTrue(job.output.contains(TwoHosts.remoteAddress), job.output)
        print("fault: link cut → job ended in \(String(format: "%.1f", seconds)) s, status \(status ?? -1)")
        assertNewestCheckpointVerifies("cut")
    }

    /// A rank that stops answering while its host and link stay up (SIGSTOP: a hung process,
    /// which no launcher notices): the other rank's collective waits hit
    /// --collective-timeout, it says so and exits 69, and the launcher ends the job.
    func testSilentRankIsEndedByTheCollectiveTimeout() throws {
        let job = try startLongRun("silent", ["--collective-timeout", "5"])
        let ranks = try hosts.processes(on: "b", containing: "chain-train")
        XCTAssertEqual(ranks.count, 1, "rank on host b: \(ranks)")
        let stopped = Date()
        for pid in ranks { kill(pid, SIGSTOP) }
        let status = job.wait(45)
        let seconds = Date().timeIntervalSince(stopped)
        XCTAssertEqual(status, 69, job.output)
        XCTAssertGreaterThanOrEqual(seconds, 5)
        XCTAssertLessThan(seconds, 30)
        XCTAssertTrue(job.output.contains("chain-train (rank 0 on host \(hosts.name)-a): MPI_"), job.output)
        XCTAssertTrue(job.output.contains("for the other ranks (--collective-timeout 5)"), job.output)
        print("fault: rank stopped → job ended in \(String(format: "%.1f", seconds)) s, status \(status ?? -1)")
        assertNewestCheckpointVerifies("silent")
    }

    /// 20 ms and 1% loss each way (netem, or the user-space relay where the kernel has no
    /// netem): the run is slower but its parameters are exactly those of the clean link.
    func testSlowLossyLinkGivesTheSameParameters() throws {
        let cleanStart = Date()
        let (s0, clean) = try hosts.run(1, small.training("clean"))
        let cleanSeconds = Date().timeIntervalSince(cleanStart)
        XCTAssertEqual(s0, 0, clean)
        let how = try hosts.action("impair", "20", "1")
        let started = Date()
        let (s1, impaired) = try hosts.run(1, small.training("impaired"))
        XCTAssertEqual(s1, 0, impaired)
        XCTAssertNotNil(SmallSyntheticRun.checksum(clean), clean)
        XCTAssertEqual(SmallSyntheticRun.checksum(impaired), SmallSyntheticRun.checksum(clean), impaired)
        var stats = ""
        if how.contains("relay") {
            stats = try hosts.action("link-stats")
            let dropped = stats.split(whereSeparator: \.isWhitespace).last.flatMap { Int($0) }
            XCTAssertGreaterThan(dropped ?? 0, 0, "the relay dropped packets: \(stats)")
        }
        print(
            "fault: 20 ms + 1% loss → run took \(String(format: "%.1f", Date().timeIntervalSince(started))) s "
                + "(clean link: \(String(format: "%.1f", cleanSeconds)) s), same crc32; "
                + "\(how.trimmingCharacters(in: .whitespacesAndNewlines)) \(stats)")
    }
}
