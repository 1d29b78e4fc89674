import ChainTestSupport
import Foundation
import XCTest

/// launch/check-onnx from the tests: onnxruntime in a venv (made on first use from PyPI). Where
/// it cannot be made the tests skip, unless CHAIN_REQUIRE_ONNXRUNTIME=1 (CI) makes that a failure.
enum ONNXCheck {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../launch/check-onnx").standardized.path
    static let required = ProcessInfo.processInfo.environment["CHAIN_REQUIRE_ONNXRUNTIME"] == "1"

    /// Skips (or fails, when required) where the venv cannot be made.
    static func requireRuntime() throws {
        let (status, output) = try TestTools.run("/bin/bash", [script, "--setup"], timeout: 900)
        if status == 3 {
            if required { XCTFail("onnxruntime is required (CHAIN_REQUIRE_ONNXRUNTIME=1): \(output)"); return }
            throw XCTSkip("onnxruntime unavailable: \(output)")
        }
        XCTAssertEqual(status, 0, output)
    }

    /// check-onnx's one-line verdict; a failed comparison is a test failure.
    static func run(model: String, features: String, codes: String, key: String = "feats") throws -> String {
        let (status, output) = try TestTools.run("/bin/bash", [script, model, features, codes, key], timeout: 300)
        XCTAssertEqual(status, 0, output)
        return output
    }
}
