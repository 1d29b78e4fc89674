import ChainTestSupport
import Foundation
import XCTest

/// The SLURM scripts under a real SLURM: `launch/slurm/local-cluster` starts munged,
/// slurmctld and slurmd on this machine; jobs are submitted with `sbatch`, preempted with
/// `scancel --signal=USR1 --batch`, requeued by the script (`scontrol requeue`) and resumed.
/// Each test has its own cluster. Skips where SLURM cannot run (not root, not installed),
/// unless CHAIN_REQUIRE_SLURM=1 (CI), where that is a failure.
final class SlurmClusterTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardizedFileURL.path

    var folder = ""
    var environment: [String: String] = [:]

    /// Runs launch/slurm/local-cluster to its end with posix_spawn and waitpid (Foundation's
    /// Process does not always see a child exit whose children go on as daemons).
    static func script(_ arguments: [String]) -> (Int32, String) {
        let log = NSTemporaryDirectory() + "chain-local-cluster-\(UUID().uuidString).log"
        let words = [repository + "/launch/slurm/local-cluster"] + arguments
        let command =
            words.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
            .joined(separator: " ") + " </dev/null >'\(log)' 2>&1"
        var pid = pid_t()
        let words2: [String] = ["/bin/sh", "-c", command]
        let argv: [UnsafeMutablePointer<CChar>?] = words2.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else { return (-1, "posix_spawn failed") }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: log)
        return ((status >> 8) & 0xff, output)
    }

    var cluster: String?

    /// Each test gets a cluster of its own (a job's leftovers cannot reach the next test).
    override func setUpWithError() throws {
        let dir = NSTemporaryDirectory() + "chain-slurm-\(UUID().uuidString)"
        let (started, startOutput) = Self.script(["start", dir])
        guard started == 0 else {
            let why = "a local SLURM could not start: \(startOutput)"
            if ProcessInfo.processInfo.environment["CHAIN_REQUIRE_SLURM"] == "1" { XCTFail(why) }
            throw XCTSkip(why)
        }
        cluster = dir
        guard TestTools.mpirun != nil else { throw XCTSkip("mpirun not installed") }
        folder = NSTemporaryDirectory() + "chain-slurm-job-\(UUID().uuidString)"
        environment = TestTools.environment([
            "SLURM_CONF": dir + "/slurm.conf", "CHAIN_TRAIN": TestTools.executable("chain-train"),
            "MPIRUN_FLAGS": "--oversubscribe --bind-to none",
        ])
        let (status, output) = try TestTools.run(
            TestTools.executable("chain-data"),
            [
                "synth", "--out", folder + "/data", "--name", "s", "--videos", "96", "--queries", "16", "--classes",
                "4", "--dim", "32", "--frames", "8",
            ])
        XCTAssertEqual(status, 0, output)
    }

    override func tearDown() {
        if let cluster {
            _ = Self.script(["stop", cluster])
            try? FileManager.default.removeItem(atPath: cluster)
        }
        try? FileManager.default.removeItem(atPath: folder)
    }

    func training(_ runDir: String, epochs: Int) -> [String] {
        [
            "--epochs", "\(epochs)", "--batch", "16", "model.layers=1", "model.width=32", "model.heads=2",
            "model.ffn=64", "views.frames=4", "--bits", "16", "--run-dir", folder + "/" + runDir,
        ]
    }

    func slurm(_ tool: String, _ arguments: [String]) throws -> (Int32, String) {
        try TestTools.run("/usr/bin/" + tool, arguments, environment: environment, timeout: 30)
    }

    /// `scontrol show job` fields of `job` (JobState, Restarts, ExitCode, …).
    func fields(_ job: String) throws -> [String: String] {
        let (_, text) = try slurm("scontrol", ["show", "job", job])
        var fields: [String: String] = [:]
        for token in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = token.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        return fields
    }

    /// Polls until `done` holds (or `timeout` seconds pass); returns whether it held.
    func waitUntil(_ timeout: TimeInterval, _ done: () throws -> Bool) rethrows -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if try done() { return true }
            Thread.sleep(forTimeInterval: 0.5)
        }
        return try done()
    }

    func log(_ job: String) -> String {
        (try? String(contentsOfFile: "\(folder)/job-\(job).log", encoding: .utf8)) ?? ""
    }

    /// The job's log, its `scontrol` record and the daemons' last log lines, for a failure message.
    func diagnostics(_ job: String) -> String {
        let record = ((try? slurm("scontrol", ["show", "job", job]))?.1) ?? "?"
        func tail(_ file: String) -> String {
            let text = (try? String(contentsOfFile: cluster! + "/log/" + file, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").suffix(15).joined(separator: "\n")
        }
        return log(job) + "\n--- scontrol show job\n" + record + "\n--- slurmctld.log\n" + tail("slurmctld.log")
            + "\n--- slurmd.log\n" + tail("slurmd.log")
    }

    func submit(_ script: String, _ arguments: [String], tasks: Int = 2) throws -> String {
        let (status, output) = try slurm(
            "sbatch",
            [
                "--parsable", "--nodes=1", "--ntasks=\(tasks)", "--ntasks-per-node=\(tasks)", "--cpus-per-task=1",
                "--chdir=\(Self.repository)", "--output=\(folder)/job-%j.log", script,
            ] + arguments)
        XCTAssertEqual(status, 0, output)
        return output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";").first.map(String.init) ?? ""
    }

    func checksum(_ text: String) -> String? {
        text.split(separator: "\n").first { $0.contains("final parameters: crc32") }
            .map { String($0[$0.range(of: "final parameters")!.lowerBound...]) }
    }

    /// The uninterrupted run's checksum: 2 ranks under mpirun, outside SLURM.
    func uninterruptedChecksum(epochs: Int) throws -> String {
        let mpirun = try TestTools.requireMPIRun()
        let (status, output) = try TestTools.run(
            mpirun,
            [
                "-np", "2", "--oversubscribe", "--bind-to", "none", TestTools.executable("chain-train"), "--config",
                folder + "/data/s.yaml",
            ] + training("whole", epochs: epochs), timeout: 180)
        XCTAssertEqual(status, 0, output)
        return try XCTUnwrap(checksum(output), output)
    }

    /// Submits `script`, preempts it with `scancel` (`signal`), checks that it checkpoints,
    /// requeues and resumes, and returns its log. The callers train 300 epochs (1,800 steps, a
    /// few seconds): 40 ended on an idle machine before the signal arrived.
    func preemptAndResume(_ script: String, signal: [String], epochs: Int) throws -> String {
        let job = try submit(
            Self.repository + "/" + script, [folder + "/data/s.yaml"] + training("job", epochs: epochs))
        XCTAssertTrue(waitUntil(120) { log(job).contains("  epoch   2/\(epochs)") }, diagnostics(job))
        XCTAssertFalse(log(job).contains("█"), "a batch log gets plain lines, not the live bar")
        let (status, output) = try slurm("scancel", signal + [job])
        XCTAssertEqual(status, 0, output)
        // The ranks checkpoint and exit 75; the script requeues the job.
        XCTAssertTrue(try waitUntil(60) { try fields(job)["Restarts"] == "1" }, diagnostics(job))
        XCTAssertTrue(log(job).contains("checkpoint written (exit 75): requeueing job \(job)"), diagnostics(job))
        // SLURM holds a requeued job for a while (BeginTime); release it now, once the first
        // run's step has ended: its PMIx socket (spool/stepd.slurm.pmix.JOB.0) would otherwise
        // still be bound when the rerun's step 0 wants the same path.
        let spool = cluster! + "/spool"
        XCTAssertTrue(
            waitUntil(60) {
                !((try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? []).contains {
                    $0.contains("pmix.\(job).")
                }
            }, "the first run's step did not end")
        // Nor within the second its first run ended: slurmd revoked that run's credential, and a
        // credential made in the same second counts as revoked ("Job credential revoked").
        Thread.sleep(forTimeInterval: 3)
        // The update only takes once the job is PENDING again (not while it is still completing).
        XCTAssertTrue(
            try waitUntil(240) {
                let state = try fields(job)["JobState"]
                if state == "PENDING" { _ = try slurm("scontrol", ["update", "jobid=\(job)", "StartTime=now"]) }
                return state == "COMPLETED" || state == "FAILED"
            }, diagnostics(job))
        XCTAssertEqual(try fields(job)["JobState"], "COMPLETED", diagnostics(job))
        let text = log(job)
        XCTAssertTrue(text.contains("restart 1"), text)
        XCTAssertTrue(text.contains("resumed from step"), text)
        XCTAssertTrue(text.contains("2 rank(s)"), text)
        return text
    }

    /// mpirun inside the allocation; SIGUSR1 to the batch shell (what --signal=B:USR1@120 sends).
    func testMpirunJobIsPreemptedRequeuedAndResumesBitIdentically() throws {
        let text = try preemptAndResume(
            "launch/slurm/chain-train.sbatch", signal: ["--signal=USR1", "--batch"], epochs: 300)
        XCTAssertEqual(checksum(text), try uninterruptedChecksum(epochs: 300), text)
    }

    /// srun with PMIx (SLURM's pmix_v4 plugin, Open MPI 4.1's PMIx 3 client); SIGUSR1 to
    /// every task (what --signal=USR1@120 sends).
    func testSrunJobIsPreemptedRequeuedAndResumesBitIdentically() throws {
        let text = try preemptAndResume("launch/slurm/chain-train-srun.sbatch", signal: ["--signal=USR1"], epochs: 300)
        XCTAssertEqual(checksum(text), try uninterruptedChecksum(epochs: 300), text)
    }

    func testTaskCountCheckInsideARealAllocation() throws {
        // Two tasks allocated, chain-train started once without mpirun or srun: it must refuse.
        let wrapper = folder + "/direct.sbatch"
        try """
        #!/bin/bash
        "$CHAIN_TRAIN" --config "$1" "${@:2}"
        echo "chain-train exited with status $?"
        """.write(toFile: wrapper, atomically: true, encoding: .utf8)
        let job = try submit(wrapper, [folder + "/data/s.yaml"] + training("direct", epochs: 1))
        XCTAssertTrue(try waitUntil(60) { try fields(job)["JobState"] == "COMPLETED" }, log(job))
        let text = log(job)
        XCTAssertTrue(text.contains("SLURM started 2 tasks (SLURM_NTASKS=2) but MPI sees a world of 1"), text)
        XCTAssertTrue(text.contains("chain-train exited with status 2"), text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/direct"), "nothing written")
    }
}
