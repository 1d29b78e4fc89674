import ChainTestSupport
import ChainTraining
import Foundation
#if canImport(FoundationXML)
    import FoundationXML
#endif
import XCTest

/// Checkpoints, exact resume, stop signals, damaged checkpoints, a killed rank and the SLURM
/// check, through the real `chain-train` (and `mpirun`) on a tiny synthetic dataset.
final class ResumeTests: XCTestCase {
    static func tool(_ name: String) -> String { TestTools.executable(name) }
    static var mpirun: String? { TestTools.mpirun }
    static func environment(_ extra: [String: String] = [:]) -> [String: String] { TestTools.environment(extra) }
    typealias Job = TestJob

    static func runProcess(
        _ executable: String, _ arguments: [String], environment: [String: String] = ResumeTests.environment(),
        timeout: TimeInterval = 120
    ) throws -> (Int32, String) {
        try TestTools.run(executable, arguments, environment: environment, timeout: timeout)
    }

    func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = ResumeTests.environment(),
        timeout: TimeInterval = 120
    ) throws -> (Int32, String) {
        try Self.runProcess(executable, arguments, environment: environment, timeout: timeout)
    }

    var folder = ""
    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "chain-resume-\(UUID().uuidString)"
        let (status, output) = try run(
            Self.tool("chain-data"),
            [
                "synth", "--out", folder + "/data", "--name", "s", "--videos", "96",
                "--queries", "16", "--classes", "4", "--dim", "32", "--frames", "8",
            ])
        XCTAssertEqual(status, 0, output)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    /// A small, fast model; `epochs` epochs of 6 steps.
    func arguments(_ runDir: String, epochs: Int = 3, _ extra: [String] = []) -> [String] {
        [
            "--config", folder + "/data/s.yaml", "--epochs", "\(epochs)", "--batch", "16", "model.layers=1",
            "model.width=32",
            "model.heads=2", "model.ffn=64", "views.frames=4", "--bits", "16", "--run-dir", folder + "/" + runDir,
        ] + extra
    }

    func checksum(_ output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("final parameters: crc32") }.map(String.init)
    }

    func finalParameters(_ runDir: String) throws -> [Float] {
        let newest = try XCTUnwrap(Checkpoint.list(in: folder + "/" + runDir + "/checkpoints").first)
        return try Checkpoint.read(path: newest).parameters
    }

    func testInterruptedRunResumesBitIdentically() throws {
        let train = Self.tool("chain-train")
        let (s0, whole) = try run(train, arguments("whole"))
        XCTAssertEqual(s0, 0, whole)
        let (s1, first) = try run(train, arguments("split", ["--stop-after", "8", "checkpoints.every=4"]))
        XCTAssertEqual(s1, CheckpointManager.preemptedExitCode, first)
        XCTAssertTrue(first.contains("checkpoint written at step 8 (epoch 1, step 2)"), first)
        XCTAssertNil(checksum(first), "a stopped run does not evaluate")
        let (s2, rest) = try run(train, arguments("split", ["--resume", "auto"]))
        XCTAssertEqual(s2, 0, rest)
        XCTAssertTrue(rest.contains("resumed from step 8"), rest)
        XCTAssertNotNil(checksum(whole))
        XCTAssertEqual(checksum(rest), checksum(whole), "resumed run must end bit-identical")
        // Starting over in a folder with checkpoints is refused; nothing is overwritten.
        let before = Checkpoint.list(in: folder + "/split/checkpoints")
        let (s3, refused) = try run(train, arguments("split"))
        XCTAssertEqual(s3, 2, refused)
        XCTAssertTrue(refused.contains("already holds checkpoints"), refused)
        XCTAssertEqual(Checkpoint.list(in: folder + "/split/checkpoints"), before)
        // A checkpoint from other settings is refused.
        let (s4, other) = try run(train, arguments("split", ["--resume", "auto", "--bits", "32"]))
        XCTAssertEqual(s4, 2, other)
        XCTAssertTrue(other.contains("the checkpoint was made with model.bits = 16; this run has 32"), other)
    }

    func testResumeOnTwoRanksAndFromTwoRanksOnOne() throws {
        let mpirun = try TestTools.requireMPIRun()
        let train = Self.tool("chain-train")
        let mpi = ["-np", "2", "--oversubscribe", "--bind-to", "none", train]
        let (s0, whole) = try run(mpirun, mpi + arguments("whole2", ["model.dropout=0"]))
        XCTAssertEqual(s0, 0, whole)
        let (s1, first) = try run(mpirun, mpi + arguments("split2", ["model.dropout=0", "--stop-after", "7"]))
        XCTAssertEqual(s1, CheckpointManager.preemptedExitCode, first)
        try FileManager.default.copyItem(atPath: folder + "/split2", toPath: folder + "/split1")
        let (s2, rest) = try run(mpirun, mpi + arguments("split2", ["model.dropout=0", "--resume", "auto"]))
        XCTAssertEqual(s2, 0, rest)
        XCTAssertEqual(checksum(rest), checksum(whole), "2 ranks, interrupted and resumed on 2 ranks: bit-identical")
        // The same checkpoint resumed by one process: same global batches and data order.
        let (s3, single) = try run(train, arguments("split1", ["model.dropout=0", "--resume", "auto"]))
        XCTAssertEqual(s3, 0, single)
        XCTAssertTrue(single.contains("now 1 rank(s): same global batches and data order"), single)
        let a = try finalParameters("whole2"), b = try finalParameters("split1")
        var diff = 0.0, norm = 0.0
        for i in 0..<a.count { diff += Double(a[i] - b[i]) * Double(a[i] - b[i]); norm += Double(a[i]) * Double(a[i]) }
        XCTAssertLessThan((diff / norm).squareRoot(), 1e-5, "2 → 1 ranks continues the same training")
    }

    func testStopSignalWritesACheckpointAndExitsForRequeue() throws {
        let train = Self.tool("chain-train")
        // A single process gets SIGTERM directly (as srun delivers it to every task).
        let job = try Job(train, arguments("signal", epochs: 400), environment: Self.environment())
        XCTAssertTrue(job.waitFor("epoch   2/", 60), job.output)
        kill(job.process.processIdentifier, SIGTERM)
        XCTAssertEqual(job.wait(60), CheckpointManager.preemptedExitCode, job.output)
        XCTAssertTrue(job.output.contains("SIGTERM received: checkpoint written at step"), job.output)
        let newest = try XCTUnwrap(Checkpoint.list(in: folder + "/signal/checkpoints").first)
        XCTAssertNoThrow(try Checkpoint.read(path: newest))

        // Under mpirun, SIGUSR1 sent to mpirun is forwarded to every rank.
        guard let mpirun = Self.mpirun else { throw XCTSkip("mpirun not installed: the single-process part passed") }
        let mpiJob = try Job(
            mpirun, ["-np", "2", "--oversubscribe", "--bind-to", "none", train] + arguments("signal2", epochs: 400),
            environment: Self.environment())
        XCTAssertTrue(mpiJob.waitFor("epoch   2/", 60), mpiJob.output)
        kill(mpiJob.process.processIdentifier, SIGUSR1)
        XCTAssertEqual(mpiJob.wait(60), CheckpointManager.preemptedExitCode, mpiJob.output)
        XCTAssertTrue(mpiJob.output.contains("SIGUSR1 received: checkpoint written at step"), mpiJob.output)
        XCTAssertNotNil(Checkpoint.list(in: folder + "/signal2/checkpoints").first)

        // SIGTERM to mpirun: Open MPI forwards it to the ranks and then ends the job itself
        // (status 1, not 75). The job ends promptly and the newest checkpoint verifies.
        let termJob = try Job(
            mpirun, ["-np", "2", "--oversubscribe", "--bind-to", "none", train] + arguments("signal3", epochs: 400),
            environment: Self.environment())
        XCTAssertTrue(termJob.waitFor("epoch   2/", 60), termJob.output)
        kill(termJob.process.processIdentifier, SIGTERM)
        XCTAssertNotNil(termJob.wait(30), "mpirun must end after SIGTERM")
        let newestAfterTerm = try XCTUnwrap(Checkpoint.list(in: folder + "/signal3/checkpoints").first)
        XCTAssertNoThrow(try Checkpoint.read(path: newestAfterTerm))
    }

    /// SIGTERM twice in a row while a checkpoint is being written (its `.partial` file still
    /// on disk after both signals): the write completes, the stop takes its own checkpoint,
    /// the job exits 75, and every checkpoint verifies with no partial file left.
    func testStopSignalsDuringACheckpointWrite() throws {
        // A model large enough (3.2 M parameters, 38 MB checkpoints) for the write to be caught.
        let job = try Job(
            Self.tool("chain-train"),
            arguments(
                "during-write", epochs: 400,
                [
                    "model.width=512", "model.ffn=2048", "checkpoints.every=1",
                    "checkpoints.keep=10",
                ]),
            environment: Self.environment())
        let checkpoints = folder + "/during-write/checkpoints"
        var partial: String?
        let deadline = Date().addingTimeInterval(120)
        while partial == nil && Date() < deadline && job.process.isRunning {
            partial = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints))?
                .first { $0.hasSuffix(".partial") }.map { checkpoints + "/" + $0 }
            if partial == nil { usleep(500) }
        }
        let writing = try XCTUnwrap(partial, "no checkpoint write seen: \(job.output)")
        kill(job.process.processIdentifier, SIGTERM)
        kill(job.process.processIdentifier, SIGTERM)
        XCTAssertTrue(FileManager.default.fileExists(atPath: writing), "both signals arrived during the write")
        XCTAssertEqual(job.wait(120), CheckpointManager.preemptedExitCode, job.output)
        XCTAssertTrue(job.output.contains("SIGTERM received: checkpoint written at step"), job.output)
        let files = try FileManager.default.contentsOfDirectory(atPath: checkpoints)
        XCTAssertFalse(files.contains { $0.hasSuffix(".partial") }, "\(files)")
        let all = Checkpoint.list(in: checkpoints)
        XCTAssertFalse(all.isEmpty)
        for path in all { XCTAssertNoThrow(try Checkpoint.read(path: path), path) }
        // The interrupted write finished under its own name.
        XCTAssertTrue(all.contains(String(writing.dropLast(".partial".count))), "\(all)")
    }

    func testDamagedNewestCheckpointIsSkipped() throws {
        let train = Self.tool("chain-train")
        let (s1, first) = try run(train, arguments("damaged", ["--stop-after", "9", "checkpoints.every=3"]))
        XCTAssertEqual(s1, CheckpointManager.preemptedExitCode, first)
        let files = Checkpoint.list(in: folder + "/damaged/checkpoints")
        XCTAssertEqual(
            files.map { ($0 as NSString).lastPathComponent },
            ["checkpoint-000000009.h5", "checkpoint-000000006.h5", "checkpoint-000000003.h5"])
        // Flip bytes in the middle of the newest file (inside the parameter data).
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: files[0]))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size / 2)
        try handle.write(contentsOf: Data(repeating: 0x5A, count: 64))
        try handle.close()
        XCTAssertThrowsError(try Checkpoint.read(path: files[0])) {
            XCTAssertTrue("\($0)".contains("checkpoint-000000009.h5"), "\($0)")
        }
        let (s2, rest) = try run(train, arguments("damaged", ["--resume", "auto"]))
        XCTAssertEqual(s2, 0, rest)
        XCTAssertTrue(rest.contains("skipping damaged checkpoint") && rest.contains("checkpoint-000000009.h5"), rest)
        XCTAssertTrue(rest.contains("resumed from step 6"), rest)
        // --resume with the damaged file itself fails with its name.
        let (s3, named) = try run(train, arguments("damaged", ["--resume", files[0]]))
        XCTAssertNotEqual(s3, 0)
        XCTAssertTrue(named.contains("checkpoint-000000009.h5"), named)
    }

    func testKilledRankEndsTheJobPromptly() throws {
        let mpirun = try TestTools.requireMPIRun()
        let train = Self.tool("chain-train")
        let job = try Job(
            mpirun, ["-np", "2", "--oversubscribe", "--bind-to", "none", train] + arguments("killed", epochs: 400),
            environment: Self.environment())
        XCTAssertTrue(job.waitFor("epoch   2/", 60), job.output)
        // The ranks are mpirun's children running chain-train.
        let pgrep = Process()
        pgrep.executableURL = URL(fileURLWithPath: "/usr/bin/pgrep")
        pgrep.arguments = ["-P", "\(job.process.processIdentifier)", "-f", "chain-train"]
        let pipe = Pipe(); pgrep.standardOutput = pipe
        try pgrep.run(); pgrep.waitUntilExit()
        let ranks = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(
            separator: "\n"
        ).compactMap { Int32($0) }
        XCTAssertEqual(ranks.count, 2, "rank pids: \(ranks)")
        let start = Date()
        kill(try XCTUnwrap(ranks.last), SIGKILL)
        let status = job.wait(30)
        XCTAssertNotNil(status, "the job must end after a rank is killed")
        XCTAssertNotEqual(status, 0)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
        // The last checkpoint (written at an epoch end) is intact.
        let newest = try XCTUnwrap(Checkpoint.list(in: folder + "/killed/checkpoints").first)
        XCTAssertNoThrow(try Checkpoint.read(path: newest))
    }

    /// `chain-train` with no dataset generates the built-in synthetic set (in its working
    /// folder) and trains CHAIN on it; one epoch here instead of six. Then the same run
    /// stopped and resumed as its message says.
    func testNoArgumentRunTrainsCHAINOnSyntheticData() throws {
        let (status, output) = try TestTools.run(
            Self.tool("chain-train"), ["--epochs", "1"], directory: folder, timeout: 600)
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("generating the built-in synthetic set in runs/default/data"), output)
        XCTAssertTrue(output.contains("PCA-sign baseline on the same split"), output)
        XCTAssertTrue(output.contains("| 64 | "), output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/runs/default/data/synth.yaml"))
        // Every artefact of the run folder exists and parses.
        let runs = try FileManager.default.contentsOfDirectory(atPath: folder + "/runs/default").filter {
            $0.hasPrefix("run-")
        }
        XCTAssertEqual(runs.count, 1)
        let run = folder + "/runs/default/" + runs[0]
        XCTAssertNoThrow(try RunConfig.resolve(path: run + "/config.yaml", overrides: []))
        let lines = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        let records = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(Set(records.compactMap { $0["kind"] as? String }), ["step", "epoch", "eval"])
        XCTAssertEqual(records.filter { $0["kind"] as? String == "step" }.count, 7)  // 1000 videos / 128: 7 steps
        // The demo set has augmented copies, and the views read them.
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/runs/default/data/synth_train_feats_aug.h5"))
        XCTAssertTrue(output.contains("near-duplicate retrieval"), output)
        let final =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/eval/final.json")))
            as! [String: Any]
        XCTAssertEqual((final["pr_curve"] as! [Any]).count, 65)
        for plot in ["losses", "map", "pr_curve", "hamming_histogram"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: run + "/plots/\(plot).svg"))
            let parser = XMLParser(data: data)
            XCTAssertTrue(
                parser.parse(), "\(plot).svg is not well-formed XML: \(String(describing: parser.parserError))")
        }
        let report = try String(contentsOfFile: run + "/report.md", encoding: .utf8)
        XCTAssertTrue(report.contains("![PR curve](plots/pr_curve.svg)") && report.contains("| 64 | "), report)

        // Stopped, the built-in run says how to resume; the command it prints continues that
        // run in its own folder (not the finished one above, not a new one) and ends
        // bit-identical to the uninterrupted run.
        let (s1, stopped) = try TestTools.run(
            Self.tool("chain-train"), ["--epochs", "1", "--stop-after", "3"], directory: folder, timeout: 600)
        XCTAssertEqual(s1, CheckpointManager.preemptedExitCode, stopped)
        XCTAssertTrue(stopped.contains("resume with --resume auto"), stopped)
        let (s2, resumed) = try TestTools.run(
            Self.tool("chain-train"), ["--epochs", "1", "--resume", "auto"], directory: folder, timeout: 600)
        XCTAssertEqual(s2, 0, resumed)
        XCTAssertTrue(resumed.contains("resumed from step 3"), resumed)
        XCTAssertNotNil(checksum(output))
        XCTAssertEqual(checksum(resumed), checksum(output), "the resumed built-in run ends bit-identical")
        let folders = try FileManager.default.contentsOfDirectory(atPath: folder + "/runs/default").filter {
            $0.hasPrefix("run-")
        }
        XCTAssertEqual(folders.count, 2, "the resumed run continued its own folder: \(folders)")
    }

    /// The sbatch script's trap: SIGUSR1 to the batch shell reaches every rank through
    /// mpirun, the ranks checkpoint and exit 75, the script requeues; the requeued job resumes.
    func testSbatchScriptForwardsTheSignalAndRequeues() throws {
        guard Self.mpirun != nil else { throw XCTSkip("mpirun not installed") }
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
            .standardizedFileURL
        let script = repository.appendingPathComponent("launch/slurm/chain-train.sbatch").path
        for file in [
            "launch/slurm/chain-train.sbatch", "launch/slurm/chain-train-srun.sbatch",
            "launch/slurm/chain-extract.sbatch", "launch/slurm/local-cluster", "launch/mpirun-local",
            "launch/netns-hosts",
        ] {
            let syntax = try run("/bin/bash", ["-n", repository.appendingPathComponent(file).path])
            XCTAssertEqual(syntax.0, 0, "\(file): \(syntax.1)")
        }
        let environment = Self.environment([
            "CHAIN_TRAIN": Self.tool("chain-train"), "CHAIN_REQUEUE": "echo REQUEUE",
            "MPIRUN_FLAGS": "-np 2 --oversubscribe --bind-to none", "SLURM_JOB_ID": "4242",
        ])
        let trainArguments = Array(arguments("sbatch", epochs: 60).dropFirst(2))  // the script passes --config itself
        let job = try Job("/bin/bash", [script, folder + "/data/s.yaml"] + trainArguments, environment: environment)
        XCTAssertTrue(job.waitFor("epoch   2/", 60), job.output)
        kill(job.process.processIdentifier, SIGUSR1)
        XCTAssertEqual(job.wait(60), 0, job.output)
        XCTAssertTrue(job.output.contains("SIGUSR1 received: asking the ranks to checkpoint"), job.output)
        XCTAssertTrue(job.output.contains("SIGUSR1 received: checkpoint written at step"), job.output)
        XCTAssertTrue(job.output.contains("REQUEUE 4242"), job.output)
        // The requeued job starts the same script again and finishes the run from the checkpoint.
        let (status, rest) = try run(
            "/bin/bash", [script, folder + "/data/s.yaml"] + trainArguments, environment: environment)
        XCTAssertEqual(status, 0, rest)
        XCTAssertTrue(rest.contains("resumed from step"), rest)
        XCTAssertTrue(rest.contains("chain-train exited with status 0"), rest)
        XCTAssertFalse(rest.contains("REQUEUE"), rest)
    }

    /// launch/mpirun-local picks the flags for this machine (root, oversubscription, one BLAS thread).
    func testMpirunLocalScript() throws {
        guard Self.mpirun != nil else { throw XCTSkip("mpirun not installed") }
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
            .standardizedFileURL
        let script = repository.appendingPathComponent("launch/mpirun-local").path
        var environment = Self.environment(["CHAIN_TRAIN": Self.tool("chain-train")])
        // The script sets them.
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = nil; environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = nil
        let (status, output) = try run(
            script, ["3"] + arguments("local", epochs: 1, ["--batch", "15"]), environment: environment)
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("3 rank(s)"), output)
        let (usage, message) = try run(script, ["--config", "x"], environment: environment)
        XCTAssertEqual(usage, 2); XCTAssertTrue(message.contains("usage: launch/mpirun-local NP"), message)
    }

    func testSlurmTaskCountMismatchFailsFast() throws {
        let (status, output) = try run(
            Self.tool("chain-train"), arguments("slurm"),
            environment: Self.environment(["SLURM_NTASKS": "4", "SLURM_JOB_ID": "1"]))
        XCTAssertEqual(status, 2, output)
        XCTAssertTrue(output.contains("SLURM started 4 tasks (SLURM_NTASKS=4) but MPI sees a world of 1"), output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/slurm"), "nothing is written")
    }
}
