import ChainData
import ChainDistributed
import ChainReport
import ChainTraining
import Foundation
import XCTest

/// `TrainingRun` driven in-process, as a library: a short run with its run folder, and a run
/// stopped with a checkpoint and resumed to the same parameters as an uninterrupted one.
final class TrainingRunTests: XCTestCase {
    var folder = ""
    var dataset: DatasetConfig!

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "chain-run-\(UUID().uuidString)"
        var o = SyntheticVideos.Options()
        o.name = "t"; o.videos = 32; o.queries = 8; o.classes = 4; o.frames = 6; o.featureSize = 16
        _ = try SyntheticVideos(o).write(to: folder + "/data")
        dataset = try DatasetConfig.load(path: folder + "/data/t.yaml", environment: [:])
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    /// A tiny model; 32 videos in global batches of 16: two steps per epoch.
    func config(epochs: Int, _ extra: [String] = []) throws -> RunConfig {
        try RunConfig.resolve(
            path: nil,
            overrides: [
                "training.epochs=\(epochs)", "training.batch=16", "training.warmup_epochs=1", "training.threads=1",
                "model.width=16", "model.layers=1", "model.heads=2", "model.ffn=32", "model.bits=16", "views.frames=4",
                "evaluation.top_k=[5, 10]",
            ] + extra)
    }

    func makeRun(_ name: String, epochs: Int) throws -> (TrainingRun, () -> [String]) {
        let run = TrainingRun(dataset: dataset, run: try config(epochs: epochs), directory: folder + "/" + name)
        var lines: [String] = []
        run.log = { lines.append($0) }
        run.showsProgress = false
        run.stop = StopRequest(signals: [])
        return (run, { lines })
    }

    func testTwoStepRunWritesItsRunFolder() throws {
        let (run, lines) = try makeRun("short", epochs: 1)
        let result = try run.start(Communicator.world())
        XCTAssertTrue(result.completed)
        let evaluation = try XCTUnwrap(result.evaluation)
        // The table's K (5, 10) and the curves': every 5 and the database size (32 videos).
        XCTAssertEqual(Set(evaluation.mapAtK.keys), [5, 10, 15, 20, 25, 30, 32])
        XCTAssertTrue((0...1).contains(evaluation.mapAll))
        XCTAssertNotNil(result.parameterChecksum)
        XCTAssertTrue(lines().contains { $0.hasPrefix("final parameters: crc32 ") }, "\(lines())")
        let metrics = try String(contentsOfFile: folder + "/short/metrics.jsonl", encoding: .utf8)
        XCTAssertEqual(metrics.split(separator: "\n").filter { $0.contains("\"kind\":\"step\"") }.count, 2)
        for file in [
            "config.yaml", "report.md", "eval/final.json", "plots/losses.svg", "plots/map_at_k.svg",
            "plots/precision_at_k.svg",
        ] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/short/" + file), file)
        }
        XCTAssertEqual(Checkpoint.list(in: folder + "/short/checkpoints").count, 1, "one checkpoint at the epoch end")
        // The TensorBoard event file holds the same scalars as metrics.jsonl.
        let events = try FileManager.default.contentsOfDirectory(atPath: folder + "/short")
            .filter { $0.hasPrefix("events.out.tfevents.") }
        XCTAssertEqual(events.count, 1, "\(events)")
        let read = try TensorBoardWriter.read(path: folder + "/short/" + events[0])
        XCTAssertEqual(read.first?.fileVersion, "brain.Event:2")
        var scalars: [String: [Int64: Float]] = [:]
        for e in read { for v in e.summary.value { scalars[v.tag, default: [:]][e.step] = v.simpleValue } }
        for line in metrics.split(separator: "\n") {
            let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let step = Int64(try XCTUnwrap(record["step"] as? Int))
            switch record["kind"] as? String {
            case "step":
                XCTAssertEqual(scalars["loss/total"]?[step], Float(try XCTUnwrap(record["total"] as? Double)))
                XCTAssertEqual(scalars["train/lr"]?[step], Float(try XCTUnwrap(record["lr"] as? Double)))
            case "eval":
                XCTAssertEqual(scalars["map/at_5"]?[step], Float(try XCTUnwrap(record["map@5"] as? Double)))
            case "epoch":
                XCTAssertEqual(
                    scalars["epoch/order_accuracy"]?[step], Float(try XCTUnwrap(record["order_accuracy"] as? Double)))
            default: XCTFail("unknown record \(record)")
            }
        }
        XCTAssertNotNil(scalars["loss/scene"], "the scene term is on by default: its series is written")
    }

    /// Epoch lines name only the terms that are on, and config.yaml writes plain numbers.
    func testEpochLinesShowOnlyTheTermsThatAreOn() throws {
        let cases: [([String], [String], [String])] = [
            ([], ["contrastive ", "order ", "chance ", "scene ", "scenes/view"], ["reconstruction "]),
            (["objectives.scene_weight=0"], ["contrastive ", "order ", "chance "], ["scene ", "scenes/view"]),
            (["objectives.order_weight=0"], ["contrastive ", "scene ", "scenes/view"], ["order ", "chance "]),
        ]
        for (index, (overrides, shown, hidden)) in cases.enumerated() {
            let config = try self.config(epochs: 1, overrides)
            let directory = folder + "/terms-\(index)"
            let run = TrainingRun(dataset: dataset, run: config, directory: directory)
            var lines: [String] = []
            run.log = { lines.append($0) }
            run.showsProgress = false
            run.stop = StopRequest(signals: [])
            try run.start(Communicator.world())
            let epoch = try XCTUnwrap(lines.first { $0.hasPrefix("  epoch ") }, "\(lines)")
            for term in shown { XCTAssertTrue(epoch.contains(term), "\(overrides): '\(term)' in \(epoch)") }
            for term in hidden { XCTAssertFalse(epoch.contains(term), "\(overrides): no '\(term)' in \(epoch)") }
            let saved = try String(contentsOfFile: directory + "/config.yaml", encoding: .utf8)
            XCTAssertTrue(saved.contains("  dropout: 0.1\n"), saved)
            XCTAssertTrue(saved.contains("  contrastive_weight: 1\n"), saved)
        }
    }

    /// A dataset with augmented copies: the views read them, and the run reports near-duplicate
    /// retrieval (copies against their clean sources) beside the class-level table, in the log,
    /// eval/near-duplicates.json and the result file.
    func testNearDuplicateRetrievalOnADatasetWithCopies() throws {
        var o = SyntheticVideos.Options()
        o.name = "c"; o.videos = 32; o.queries = 8; o.classes = 4; o.frames = 6; o.featureSize = 16
        o.augmentedCopies = 2
        _ = try SyntheticVideos(o).write(to: folder + "/copies")
        let withCopies = try DatasetConfig.load(path: folder + "/copies/c.yaml", environment: [:])
        XCTAssertNotNil(withCopies.train.augmented)
        let run = TrainingRun(dataset: withCopies, run: try config(epochs: 1), directory: folder + "/near")
        var lines: [String] = []
        run.log = { lines.append($0) }
        run.showsProgress = false
        run.stop = StopRequest(signals: [])
        run.resultFile = folder + "/near.json"
        XCTAssertTrue(try run.start(Communicator.world()).completed)
        XCTAssertTrue(lines.contains { $0.contains("near-duplicate retrieval: 64 copies (2 per video)") }, "\(lines)")
        let record =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: folder + "/near/eval/near-duplicates.json")))
            as! [String: Any]
        XCTAssertEqual(record["queries"] as? Int, 64)
        let result =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: folder + "/near.json"))) as! [String: Any]
        let near = try XCTUnwrap(result["near_duplicates"] as? [String: Any])
        XCTAssertEqual(Set((near["map"] as! [String: Double]).keys), ["5", "10"])

        // The same run with the key off reports no near-duplicates.
        let off = TrainingRun(
            dataset: withCopies,
            run: try RunConfig.resolve(
                path: nil,
                overrides: [
                    "training.epochs=1", "training.batch=16", "training.threads=1", "model.width=16", "model.layers=1",
                    "model.heads=2", "model.ffn=32", "model.bits=16", "views.frames=4", "evaluation.top_k=[5, 10]",
                    "evaluation.near_duplicates=false",
                ]), directory: folder + "/off")
        var offLines: [String] = []
        off.log = { offLines.append($0) }
        off.showsProgress = false
        off.stop = StopRequest(signals: [])
        XCTAssertTrue(try off.start(Communicator.world()).completed)
        XCTAssertFalse(offLines.contains { $0.contains("near-duplicate") })
    }

    func testStoppedRunResumesToTheUninterruptedParameters() throws {
        let (whole, _) = try makeRun("whole", epochs: 2)
        let uninterrupted = try whole.start(Communicator.world())
        XCTAssertTrue(uninterrupted.completed)

        let (first, _) = try makeRun("split", epochs: 2)
        first.stopAfterStep = 3  // mid-epoch 2
        let stopped = try first.start(Communicator.world())
        XCTAssertFalse(stopped.completed)
        XCTAssertNil(stopped.parameterChecksum)
        XCTAssertEqual(Checkpoint.list(in: folder + "/split/checkpoints").count, 2)

        // Starting over in that folder is refused: nothing is overwritten.
        let (again, _) = try makeRun("split", epochs: 2)
        XCTAssertThrowsError(try again.start(Communicator.world())) {
            XCTAssertTrue("\($0)".contains("already holds checkpoints"), "\($0)")
        }
        let (rest, lines) = try makeRun("split", epochs: 2)
        rest.resume = .auto
        let resumed = try rest.start(Communicator.world())
        XCTAssertTrue(resumed.completed)
        XCTAssertTrue(lines().contains { $0.contains("resumed from step 3") }, "\(lines())")
        XCTAssertEqual(resumed.parameterChecksum, uninterrupted.parameterChecksum)
        XCTAssertEqual(resumed.evaluation?.mapAll, uninterrupted.evaluation?.mapAll)
    }
}
