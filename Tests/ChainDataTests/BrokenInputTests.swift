import ChainData
import ChainStorage
import ChainTestSupport
import Foundation
import XCTest

/// The broken-input corpus: each case breaks one thing in an otherwise valid dataset and
/// checks that validation fails with one message naming the file, key, index or option.
final class BrokenInputTests: XCTestCase {
    struct Case: Sendable {
        let name: String
        /// Breaks the dataset in `folder` (config at `config`); may rewrite the config.
        let breakIt: @Sendable (_ folder: ScratchFolder, _ config: String) throws -> Void
        /// Fragments the error message must contain.
        let expected: [String]
        var worldSize = 0
    }

    static func rewrite(_ config: String, _ from: String, _ to: String) throws {
        let text = try String(contentsOfFile: config, encoding: .utf8)
        precondition(text.contains(from), "'\(from)' not in the config")
        try text.replacingOccurrences(of: from, with: to).write(toFile: config, atomically: true, encoding: .utf8)
    }

    static func truncate(_ path: String, to bytes: Int) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func writeRaw(_ path: String, _ values: [Float], shape: [Int], key: String = "feats") throws {
        let file = try HDF5File(path: path, mode: .truncate)
        try file.write(key, values: values, shape: shape)
        file.close()
    }

    static let cases: [Case] = [
        Case(
            name: "missing feature file",
            breakIt: { f, _ in try FileManager.default.removeItem(atPath: f.file("toy_test_feats.h5")) },
            expected: ["toy_test_feats.h5: no such file"]),
        Case(
            name: "feature file is not HDF5",
            breakIt: { f, _ in
                try "not hdf5".write(toFile: f.file("toy_train_feats.h5"), atomically: true, encoding: .utf8)
            },
            expected: ["toy_train_feats.h5: not an HDF5 file"]),
        Case(
            name: "truncated feature file", breakIt: { f, _ in try truncate(f.file("toy_test_feats.h5"), to: 900) },
            expected: ["toy_test_feats.h5"]),
        Case(
            name: "missing feats key",
            breakIt: { f, _ in
                try writeRaw(
                    f.file("toy_test_feats.h5"), [Float](repeating: 0, count: 48), shape: [4, 3, 4], key: "features")
            },
            expected: ["toy_test_feats.h5: no dataset 'feats' (found: features)"]),
        Case(
            name: "features of rank 2",
            breakIt: { f, _ in
                try writeRaw(f.file("toy_test_feats.h5"), [Float](repeating: 0, count: 48), shape: [4, 12])
            },
            expected: ["toy_test_feats.h5: 'feats' has shape [4, 12]; expected (videos, frames, features)"]),
        Case(
            name: "frames differ from the config",
            breakIt: { f, _ in try writeFeatures(f.file("toy_test_feats.h5"), videos: 4, frames: 5, features: 4) },
            expected: ["toy_test_feats.h5: 'feats' has 5 frames per video; the dataset config says 3"]),
        Case(
            name: "feature width differs between files",
            breakIt: { f, _ in try writeFeatures(f.file("toy_test_feats.h5"), videos: 4, frames: 3, features: 6) },
            expected: ["toy_test_feats.h5: 'feats' has 6-d features; the dataset config says 4"]),
        Case(
            name: "NaN in a training video",
            breakIt: { f, _ in
                var v = (0..<(12 * 12)).map { Float($0) }; v[7 * 12 + 5] = .nan
                try writeRaw(f.file("toy_train_feats.h5"), v, shape: [12, 3, 4])
            },
            expected: ["toy_train_feats.h5: 'feats' has a NaN or infinite value in video 7"]),
        Case(
            name: "infinity in a query video",
            breakIt: { f, _ in
                var v = (0..<(4 * 12)).map { Float($0) }; v[2 * 12] = .infinity
                try writeRaw(f.file("toy_test_feats.h5"), v, shape: [4, 3, 4])
            },
            expected: ["toy_test_feats.h5: 'feats' has a NaN or infinite value in video 2"]),
        Case(
            name: "empty feature dataset",
            breakIt: { f, _ in try writeRaw(f.file("toy_test_feats.h5"), [], shape: [0, 3, 4]) },
            expected: ["toy_test_feats.h5: 'feats' is empty"]),
        Case(
            name: "label rows differ from videos",
            breakIt: { f, _ in try writeLabels(f.file("toy_test_labels.mat"), videos: 5, classes: 3) },
            expected: ["toy_test_labels.mat: 5 label rows for 4 videos in", "toy_test_feats.h5"]),
        Case(
            name: "label file without a label key",
            breakIt: { f, _ in
                try MATWriter.write(
                    path: f.file("toy_train_labels.mat"), name: "scores", rows: 12, columns: 3,
                    values: [Double](repeating: 0, count: 36))
            },
            expected: ["toy_train_labels.mat: none of the label keys labels, re_label, q_label (found: scores)"]),
        Case(
            name: "corrupt compressed .mat",
            breakIt: { f, _ in
                let fixture = Bundle.module.url(forResource: "Fixtures/v5_corrupt_z.mat", withExtension: nil)!
                try FileManager.default.removeItem(atPath: f.file("toy_test_labels.mat"))
                try FileManager.default.copyItem(atPath: fixture.path, toPath: f.file("toy_test_labels.mat"))
            },
            expected: ["toy_test_labels.mat"]),
        Case(
            name: "truncated .mat", breakIt: { f, _ in try truncate(f.file("toy_train_labels.mat"), to: 180) },
            expected: ["toy_train_labels.mat", "truncated"]),
        Case(
            name: "non-binary label values",
            breakIt: { f, _ in
                var v = [Double](repeating: 0, count: 12); v[0] = 1; v[4] = 2; v[8] = 1; v[11] = 1
                try MATWriter.write(path: f.file("toy_test_labels.mat"), name: "labels", rows: 4, columns: 3, values: v)
            },
            expected: ["toy_test_labels.mat", "row 1"]),
        Case(
            name: "a query without a label",
            breakIt: { f, _ in
                var v = [Double](repeating: 0, count: 12); v[0] = 1; v[4] = 1; v[11] = 1
                try MATWriter.write(path: f.file("toy_test_labels.mat"), name: "labels", rows: 4, columns: 3, values: v)
            },
            expected: ["toy_test_labels.mat: query 2 has no label"]),
        Case(
            name: "label columns differ from the config",
            breakIt: { f, c in try rewrite(c, "classes: 3", "classes: 7") },
            expected: ["toy_train_labels.mat: 3 label columns; the dataset config says 7 classes"]),
        Case(
            name: "more ranks than videos", breakIt: { _, _ in },
            expected: ["world size 13 is larger than the 12 training videos"],
            worldSize: 13),
        Case(
            name: "augmented copies for the wrong number of videos",
            breakIt: { f, c in
                try writeFeatures(f.file("aug.h5"), videos: 11, frames: 3, features: 4, copies: 2)
                try rewrite(
                    c, "train: { features: toy_train_feats.h5 }",
                    "train: { features: toy_train_feats.h5, augmented: aug.h5 }")
            },
            expected: ["aug.h5: 'feats' has 11 videos;", "toy_train_feats.h5 has 12"]),
        Case(
            name: "augmented copies without the copy axis",
            breakIt: { f, c in
                try writeFeatures(f.file("aug.h5"), videos: 12, frames: 3, features: 4)
                try rewrite(
                    c, "train: { features: toy_train_feats.h5 }",
                    "train: { features: toy_train_feats.h5, augmented: aug.h5 }")
            },
            expected: ["aug.h5: 'feats' has shape [12, 3, 4]; expected (videos, copies, frames, features)"]),
        Case(
            name: "misspelt config key", breakIt: { _, c in try rewrite(c, "feature_size:", "feature_szie:") },
            expected: ["toy.yaml: unknown key 'feature_szie'"]),
        Case(
            name: "query split without labels",
            breakIt: { _, c in
                try rewrite(
                    c, "query: { features: toy_test_feats.h5, labels: toy_test_labels.mat }",
                    "query: { features: toy_test_feats.h5 }")
            },
            expected: ["toy.yaml: 'query.labels' is missing"]),
        Case(
            name: "config is not YAML",
            breakIt: { _, c in try "name: [unclosed\n  - :".write(toFile: c, atomically: true, encoding: .utf8) },
            expected: ["toy.yaml"]),
        Case(
            name: "negative frame count in the config", breakIt: { _, c in try rewrite(c, "frames: 3", "frames: -3") },
            expected: ["toy.yaml: 'frames' must be positive (got -3)"]),
    ]

    func testEveryBrokenInputGetsOneClearError() throws {
        XCTAssertGreaterThanOrEqual(Self.cases.count, 15)
        for c in Self.cases {
            let folder = try ScratchFolder("broken")
            let config = try writeDataset(folder)
            XCTAssertNoThrow(
                try DatasetValidator(config: try DatasetConfig.load(path: config, environment: [:])).validate(),
                "before: \(c.name)")
            try c.breakIt(folder, config)
            do {
                let loaded = try DatasetConfig.load(path: config, environment: [:])
                _ = try DatasetValidator(config: loaded, worldSize: c.worldSize).validate()
                XCTFail("\(c.name): no error")
            } catch let error as DataError {
                for fragment in c.expected {
                    XCTAssertTrue(error.message.contains(fragment), "\(c.name): '\(error.message)' lacks '\(fragment)'")
                }
                XCTAssertFalse(error.message.contains("\n"), "\(c.name): one line")
            } catch {
                XCTFail("\(c.name): not a DataError: \(error)")
            }
        }
    }

    /// The command line: one line on stderr, a non-zero exit, nothing written.
    func testValidateCommandFailsCleanly() throws {
        let tool = TestTools.executable("chain-data")
        guard FileManager.default.isExecutableFile(atPath: tool) else {
            throw XCTSkip("chain-data is not built next to the tests")
        }
        func run(_ arguments: [String]) throws -> (Int32, String, String) {
            try TestTools.runSeparately(tool, arguments)
        }
        let folder = try ScratchFolder("cli")
        let config = try writeDataset(folder)
        let (ok, out, _) = try run(["validate", config])
        XCTAssertEqual(ok, 0); XCTAssertTrue(out.contains("ok: 12 training videos, 4 queries against 12"), out)
        let (inspected, description, _) = try run(["inspect", config])
        XCTAssertEqual(inspected, 0);
        XCTAssertTrue(description.contains("12 × 3 labels") || description.contains("12 × 3 × 4"), description)

        try Self.rewrite(config, "frames: 3", "frames: 4")
        let before = folder.contents
        let (status, _, error) = try run(["validate", config])
        XCTAssertNotEqual(status, 0)
        XCTAssertEqual(error.split(separator: "\n").count, 1, error)
        XCTAssertTrue(
            error.contains("toy_train_feats.h5: 'feats' has 3 frames per video; the dataset config says 4"), error)
        XCTAssertEqual(folder.contents, before)

        let (badOption, _, optionError) = try run(["synth", "--out", folder.file("s"), "--dtype", "float8"])
        XCTAssertNotEqual(badOption, 0)
        XCTAssertTrue(optionError.contains("--dtype must be float32 or float16 (got float8)"), optionError)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.file("s/synth_train_feats.h5")))
    }
}
