import ChainTestSupport
import Foundation
import XCTest

/// chain-export on trained checkpoints: onnxruntime on the exported model gives chain-encode's
/// code file bit for bit and its real values (--values) within 1e-5, at 16 and 64 bits, and for
/// a ConMH-mode checkpoint (whose decoder is left out); bad input is refused with the file
/// named and nothing written.
final class ChainExportToolTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "chain-export-\(UUID().uuidString)"
        let (status, output) = try tool(
            "chain-data",
            [
                "synth", "--out", folder + "/data", "--name", "s", "--videos", "96", "--queries", "32",
                "--classes", "4", "--dim", "32", "--frames", "8",
            ])
        XCTAssertEqual(status, 0, output)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func tool(_ name: String, _ arguments: [String]) throws -> (Int32, String) {
        try TestTools.run(TestTools.executable(name), arguments, timeout: 300)
    }

    /// Trains a small model; returns its newest checkpoint.
    func train(_ name: String, bits: Int, _ extra: [String]) throws -> String {
        let run = "\(folder)/\(name)"
        let (status, output) = try tool(
            "chain-train",
            [
                "--config", folder + "/data/s.yaml", "--epochs", "2", "--batch", "16", "model.layers=2",
                "model.width=32", "model.heads=4", "model.ffn=64", "views.frames=4", "--bits", "\(bits)",
                "--run-dir", run,
            ] + extra)
        XCTAssertEqual(status, 0, output)
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: run + "/checkpoints")
            .filter { $0.hasSuffix(".h5") }.sorted()
        return run + "/checkpoints/" + (try XCTUnwrap(checkpoints.last))
    }

    func testExportedModelGivesChainEncodeCodes() throws {
        try ONNXCheck.requireRuntime()
        let runs: [(String, Int, [String])] = [
            ("defaults-16", 16, []),
            (
                "shortcut-views-64", 64,
                ["model.input_shortcut=pca", "evaluation.views=2", "evaluation.pooling=activations"]
            ),
            ("conmh-32", 32, ["model.mode=conmh", "model.head_size=6"]),
        ]
        for (name, bits, extra) in runs {
            let checkpoint = try train(name, bits: bits, extra)
            let model = "\(folder)/\(name).onnx", codes = "\(folder)/\(name)-codes.h5"
            let (s1, exported) = try tool("chain-export", ["--checkpoint", checkpoint, "--onnx", model])
            XCTAssertEqual(s1, 0, exported)
            XCTAssertTrue(exported.contains("ONNX opset 17"), exported)
            for features in ["s_test_feats.h5", "s_train_feats.h5"] {
                let path = "\(folder)/data/\(features)"
                let (s2, encoded) = try tool(
                    "chain-encode", ["--checkpoint", checkpoint, "--features", path, "--out", codes, "--values"])
                XCTAssertEqual(s2, 0, encoded)
                let verdict = try ONNXCheck.run(model: model, features: path, codes: codes)
                XCTAssertTrue(verdict.contains("\(bits) bits") && verdict.contains(" 0 bits differ"), verdict)
                print("\(name), \(features): \(verdict)", terminator: "")
            }
        }
    }

    func testBadInputIsRefusedAndNothingIsWritten() throws {
        let out = folder + "/model.onnx"
        let (s1, missing) = try tool("chain-export", ["--checkpoint", folder + "/none.h5", "--onnx", out])
        XCTAssertNotEqual(s1, 0)
        XCTAssertTrue(missing.contains("chain-export: ") && missing.contains(folder + "/none.h5"), missing)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let (s2, notCheckpoint) = try tool(
            "chain-export", ["--checkpoint", folder + "/data/s_test_feats.h5", "--onnx", out])
        XCTAssertNotEqual(s2, 0)
        XCTAssertTrue(notCheckpoint.contains(folder + "/data/s_test_feats.h5"), notCheckpoint)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let checkpoint = try train("small", bits: 16, [])
        let (s3, noFolder) = try tool(
            "chain-export", ["--checkpoint", checkpoint, "--onnx", folder + "/no/such/folder/m.onnx"])
        XCTAssertNotEqual(s3, 0)
        XCTAssertTrue(noFolder.contains("chain-export: \(folder)/no/such/folder/m.onnx: cannot write"), noFolder)
        let (s4, noOption) = try tool("chain-export", ["--checkpoint", checkpoint])
        XCTAssertNotEqual(s4, 0)
        XCTAssertTrue(noOption.contains("--onnx"), noOption)
    }
}
