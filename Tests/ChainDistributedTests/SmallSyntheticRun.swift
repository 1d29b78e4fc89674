import ChainTestSupport
import Foundation
import XCTest

/// A small generated dataset in `folder`/data and the chain-train command line of a tiny
/// model on it (6 steps per epoch), for the tests that launch whole runs across hosts.
struct SmallSyntheticRun {
    let folder: String
    var config: String { folder + "/data/s.yaml" }

    func makeData() throws {
        let (made, log) = try TestTools.run(
            TestTools.executable("chain-data"),
            [
                "synth", "--out", folder + "/data", "--name", "s", "--videos", "96", "--queries", "16", "--classes",
                "4", "--dim", "32", "--frames", "8",
            ])
        XCTAssertEqual(made, 0, log)
    }

    /// chain-train on the dataset (or `config`), into `runDir` under the folder (or an absolute path).
    func training(_ runDir: String, epochs: Int = 3, config: String? = nil, _ extra: [String] = []) -> [String] {
        [
            TestTools.executable("chain-train"), "--config", config ?? self.config, "--epochs", "\(epochs)",
            "--batch", "16", "model.layers=1", "model.width=32", "model.heads=2", "model.ffn=64", "views.frames=4",
            "--bits", "16", "--run-dir", runDir.hasPrefix("/") ? runDir : folder + "/" + runDir,
        ] + extra
    }

    /// The "final parameters: crc32 …" part of a run's output.
    static func checksum(_ text: String) -> String? {
        text.split(separator: "\n").first { $0.contains("final parameters: crc32") }
            .map { String($0[$0.range(of: "final parameters")!.lowerBound...]) }
    }
}
