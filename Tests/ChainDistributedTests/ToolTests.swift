import ChainStorage
import ChainTraining
import Foundation
import XCTest

/// chain-eval, chain-encode and chain-search on a small trained model, and their bad input.
final class ToolTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "chain-tools-\(UUID().uuidString)"
        let (s1, o1) = try ResumeTests.runProcess(
            ResumeTests.tool("chain-data"),
            [
                "synth", "--out", folder + "/data", "--name", "s", "--videos", "96",
                "--queries", "16", "--classes", "4", "--dim", "32", "--frames", "8",
            ])
        XCTAssertEqual(s1, 0, o1)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func tool(_ name: String, _ arguments: [String]) throws -> (Int32, String) {
        try ResumeTests.runProcess(ResumeTests.tool(name), arguments, environment: ResumeTests.environment())
    }

    func table(_ output: String, _ row: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix(row) }.map(String.init)
    }

    func testTrainEncodeEvaluateSearchAgree() throws {
        let data = folder + "/data"
        let (s0, trained) = try tool(
            "chain-train",
            [
                "--config", data + "/s.yaml", "--epochs", "2", "--batch", "16", "model.layers=1",
                "model.width=32", "model.heads=2", "model.ffn=64", "views.frames=4", "--bits", "16",
                "--run-dir", folder + "/run", "evaluation.top_k=[5, 20, 40]",
            ])
        XCTAssertEqual(s0, 0, trained)
        let checkpoint = try XCTUnwrap(Checkpoint.list(in: folder + "/run/checkpoints").first)
        let trainedRow = try XCTUnwrap(table(trained, "| 16 |"))  // | 16 | @5 | @20 | @40 | all |
        let expected = trainedRow.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
        // From the checkpoint, on the dataset.
        let (s1, fromModel) = try tool(
            "chain-eval",
            [
                "--config", data + "/s.yaml", "--checkpoint", checkpoint, "--topk", "5,20,40",
                "--json", folder + "/eval.json",
            ])
        XCTAssertEqual(s1, 0, fromModel)
        XCTAssertEqual(table(fromModel, "| mAP@K |"), "| mAP@K | " + expected[1...3].joined(separator: " | ") + " |")
        XCTAssertTrue(fromModel.contains("mAP (whole ranking) " + expected[4]), fromModel)
        let json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/eval.json")))
            as! [String: Any]
        XCTAssertEqual((json["pr_curve"] as! [Any]).count, 17)
        XCTAssertEqual(json["bits"] as? Int, 16)
        // Through code files.
        let (s2, e1) = try tool(
            "chain-encode",
            ["--checkpoint", checkpoint, "--features", data + "/s_train_feats.h5", "--out", folder + "/db.h5"])
        let (s3, e2) = try tool(
            "chain-encode",
            ["--checkpoint", checkpoint, "--features", data + "/s_test_feats.h5", "--out", folder + "/q.h5"])
        XCTAssertEqual(s2, 0, e1); XCTAssertEqual(s3, 0, e2)
        let codes = try HDF5File(path: folder + "/db.h5").dataset("codes")
        XCTAssertEqual(codes.shape, [96, 2]); XCTAssertEqual(codes.elementType, .uint8)
        XCTAssertEqual(try codes.attributes.integer("bits"), 16)
        let codeArguments = [
            "--db-codes", folder + "/db.h5", "--query-codes", folder + "/q.h5",
            "--db-labels", data + "/s_train_labels.mat", "--query-labels", data + "/s_test_labels.mat",
        ]
        let (s4, fromCodes) = try tool("chain-eval", codeArguments + ["--topk", "5,20,40"])
        XCTAssertEqual(s4, 0, fromCodes)
        XCTAssertEqual(table(fromCodes, "| mAP@K |"), table(fromModel, "| mAP@K |"))
        // Under mpirun the encoding is shared out; the codes are the same.
        if let mpirun = MPITests.mpirun {
            let (s5, e5) = try ResumeTests.runProcess(
                mpirun,
                [
                    "-np", "2", "--oversubscribe", "--bind-to", "none", ResumeTests.tool("chain-encode"),
                    "--checkpoint", checkpoint, "--features", data + "/s_train_feats.h5", "--out", folder + "/db2.h5",
                ])
            XCTAssertEqual(s5, 0, e5)
            XCTAssertEqual(try HDF5File(path: folder + "/db2.h5").dataset("codes").readBytes(), try codes.readBytes())
        }
        let (s6, search) = try tool(
            "chain-search",
            ["--db-codes", folder + "/db.h5", "--query-codes", folder + "/q.h5", "--query", "3", "--top", "4"])
        XCTAssertEqual(s6, 0, search)
        let ranks = search.split(separator: "\n").filter { $0.hasPrefix("   ") }
        XCTAssertEqual(ranks.count, 4, search)
        let distances = ranks.map { Int($0.split(separator: " ").last!)! }
        XCTAssertEqual(distances, distances.sorted(), "nearest first")
    }

    /// Bad input: one line naming the file or option, a non-zero exit, nothing written.
    func testBadInputIsRefusedCleanly() throws {
        let data = folder + "/data"
        func codeFile(_ name: String, count: Int, bits: Int?, bytes: Int) throws -> String {
            let path = folder + "/" + name
            let file = try HDF5File(path: path, mode: .truncate)
            let d = try file.createDataset("codes", shape: [count, bytes], type: .uint8)
            if count > 0 {
                try [UInt8](repeating: 0x5A, count: count * bytes).withUnsafeBufferPointer {
                    try d.writeBytes(start: [0, 0], count: [count, bytes], from: $0.baseAddress!)
                }
            }
            if let bits { try d.attributes.set("bits", Int64(bits)) }
            file.close()
            return path
        }
        let db16 = try codeFile("db16.h5", count: 96, bits: 16, bytes: 2)
        let q16 = try codeFile("q16.h5", count: 16, bits: 16, bytes: 2)
        let q32 = try codeFile("q32.h5", count: 16, bits: 32, bytes: 4)
        let noBits = try codeFile("nobits.h5", count: 16, bits: nil, bytes: 2)
        let empty = try codeFile("empty.h5", count: 0, bits: 16, bytes: 2)
        let labels = ["--db-labels", data + "/s_train_labels.mat", "--query-labels", data + "/s_test_labels.mat"]
        let cases: [(String, [String], String)] = [
            (
                "chain-eval", ["--db-codes", db16, "--query-codes", q32] + labels,
                "q32.h5 has 32-bit codes; \(db16) has 16-bit codes"
            ),
            (
                "chain-eval", ["--db-codes", db16, "--query-codes", noBits] + labels,
                "nobits.h5: 'codes' has no 'bits' attribute"
            ),
            (
                "chain-eval",
                [
                    "--db-codes", db16, "--query-codes", q16, "--db-labels", data + "/s_test_labels.mat",
                    "--query-labels", data + "/s_test_labels.mat",
                ], "s_test_labels.mat: 16 label rows for 96 codes in \(db16)"
            ),
            (
                "chain-eval", ["--db-codes", db16, "--query-codes", q16] + labels + ["--topk", "5,200"],
                "--topk 200 is larger than the database (96 items)"
            ),
            (
                "chain-eval", ["--db-codes", db16, "--query-codes", q16] + labels + ["--topk", "5,x"],
                "--topk must be comma-separated positive integers"
            ),
            (
                "chain-eval",
                [
                    "--db-codes", db16, "--query-codes", empty, "--db-labels", data + "/s_train_labels.mat",
                    "--query-labels", try codeFileLabels(count: 0),
                ], "empty"
            ),
            ("chain-eval", ["--db-codes", db16] + labels, "give --checkpoint and --config, or --db-codes"),
            (
                "chain-train", ["--config", data + "/s.yaml", "--collective-timeout=-1"],
                "--collective-timeout must be 0 (off) or a number of seconds (got -1.0)"
            ),
            (
                "chain-search", ["--db-codes", db16, "--query-codes", q16, "--query", "16"],
                "--query 16 is outside 0..<16"
            ),
            (
                "chain-encode",
                [
                    "--checkpoint", folder + "/missing.h5", "--features", data + "/s_train_feats.h5", "--out",
                    folder + "/out.h5",
                ],
                "missing.h5: no such checkpoint"
            ),
        ]
        for (name, arguments, expected) in cases {
            let before = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
            let (status, output) = try tool(
                name, arguments + ["--json", folder + "/should-not-exist.json"].filter { _ in name == "chain-eval" })
            XCTAssertNotEqual(status, 0, "\(name) \(arguments)")
            XCTAssertTrue(output.contains(expected), "\(name): '\(output)' lacks '\(expected)'")
            XCTAssertEqual(output.split(separator: "\n").count, 1, "one line: \(output)")
            XCTAssertEqual(
                try FileManager.default.contentsOfDirectory(atPath: folder).sorted(), before, "\(name) wrote something")
        }
    }

    /// `chain-train toy`: the toy task as a subcommand (its flags are its own), and a bad
    /// value of one refused in one line.
    func testToySubcommand() throws {
        let (status, output) = try tool("chain-train", ["toy", "--steps", "40", "--log-every", "20", "--clips", "16"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("frame-order toy task"), output)
        XCTAssertTrue(output.contains("step    40/40"), output)
        let (bad, message) = try tool("chain-train", ["toy", "--steps", "0"])
        XCTAssertNotEqual(bad, 0)
        XCTAssertEqual(message.split(separator: "\n").count, 1, message)
        XCTAssertTrue(message.contains("--steps must be positive (got 0)"), message)
        // The run's own flags are not the toy's.
        let (wrong, refused) = try tool("chain-train", ["toy", "--config", "x.yaml"])
        XCTAssertNotEqual(wrong, 0)
        XCTAssertTrue(refused.contains("--config"), refused)
    }

    /// chain-report: one run's plots and report redrawn from its files (no new TensorBoard
    /// file); two runs compared in one table with overlaid curves; a folder that is not a run
    /// refused with the file named and nothing written.
    func testReportRedrawsARunAndComparesRuns() throws {
        func train(_ name: String, _ extra: [String]) throws {
            let (status, output) = try tool(
                "chain-train",
                [
                    "--config", folder + "/data/s.yaml", "--epochs", "2", "--batch", "16", "model.layers=1",
                    "model.width=32", "model.heads=2", "model.ffn=64", "views.frames=4", "--bits", "16",
                    "--run-dir", folder + "/" + name, "evaluation.every=1", "--pca-baseline",
                ] + extra)
            XCTAssertEqual(status, 0, output)
        }
        try train("full", [])
        try train("no-order", ["objectives.order_weight=0"])
        let run = folder + "/full"
        let events = { try FileManager.default.contentsOfDirectory(atPath: run).filter { $0.contains("tfevents") } }
        XCTAssertEqual(try events().count, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/eval/pca-sign.json"))
        for plot in ["map_at_k", "precision_at_k", "map"] {
            try FileManager.default.removeItem(atPath: "\(run)/plots/\(plot).svg")
        }
        let (s1, redrawn) = try tool("chain-report", [run])
        XCTAssertEqual(s1, 0, redrawn)
        for plot in ["map_at_k", "precision_at_k", "map", "code_map"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run)/plots/\(plot).svg"), plot)
        }
        let mapAtK = try String(contentsOfFile: run + "/plots/map_at_k.svg", encoding: .utf8)
        XCTAssertTrue(mapAtK.contains("PCA-sign"), "the baseline is drawn beside")
        let report = try String(contentsOfFile: run + "/report.md", encoding: .utf8)
        XCTAssertTrue(report.contains("plots/code_map.svg") && report.contains("- dataset: s"), report)
        XCTAssertEqual(try events().count, 1, "redrawing adds no event file")
        // chain-eval --plots: the same table, and one evaluation's plots.
        let checkpoint = try XCTUnwrap(Checkpoint.list(in: run + "/checkpoints").first)
        let evaluate = ["--config", folder + "/data/s.yaml", "--checkpoint", checkpoint, "--topk", "5,20"]
        let (s4, plain) = try tool("chain-eval", evaluate)
        let (s5, plotted) = try tool("chain-eval", evaluate + ["--plots", folder + "/eval-plots"])
        XCTAssertEqual(s4, 0, plain)
        XCTAssertEqual(s5, 0, plotted)
        XCTAssertEqual(table(plotted, "| mAP@K |"), table(plain, "| mAP@K |"))
        for plot in ["map_at_k", "precision_at_k", "pr_curve", "code_map"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(folder)/eval-plots/\(plot).svg"), plot)
        }
        let out = folder + "/comparison"
        let (s2, compared) = try tool("chain-report", [run, folder + "/no-order", "--out", out])
        XCTAssertEqual(s2, 0, compared)
        let table = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        XCTAssertTrue(table.contains("| [full](") && table.contains("| [no-order]("), table)
        XCTAssertTrue(table.contains("| mode | bits | mAP@5 |"), table)
        let overlaid = try String(contentsOfFile: out + "/plots/map_at_k.svg", encoding: .utf8)
        XCTAssertEqual(overlaid.components(separatedBy: "<polyline").count - 1, 2, "one curve per run")
        for file in ["plots/precision_at_k.svg", "plots/losses.svg", "plots/map.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + file), file)
        }
        let (s3, refused) = try tool("chain-report", [run, folder + "/data", "--out", folder + "/nothing"])
        XCTAssertNotEqual(s3, 0)
        XCTAssertTrue(refused.contains("chain-report: \(folder)/data/config.yaml: missing"), refused)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/nothing"))
    }

    /// An empty label file (0 rows) for the empty query set.
    func codeFileLabels(count: Int) throws -> String {
        let path = folder + "/empty_labels.h5"
        let file = try HDF5File(path: path, mode: .truncate)
        _ = try file.createDataset("labels", shape: [count, 4], type: .float32)
        file.close()
        return path
    }
}
