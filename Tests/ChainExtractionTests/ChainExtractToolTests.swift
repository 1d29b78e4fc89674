import ChainData
import ChainStorage
import ChainTestSupport
import Foundation
import XCTest

/// chain-extract as users run it: class folders to the files chain-train reads; resume after
/// a stop; identical bytes from 1 and 2 ranks; bad videos, lists and options refused clearly.
final class ChainExtractToolTests: XCTestCase {
    static var tool: String { TestTools.executable("chain-extract") }
    static let model = TestVideos.fixture("tiny_cnn.onnx")

    /// Class folders `a`, `b`, `c` with 2 distinct small videos each (mixed containers).
    func classFolders(_ name: String) throws -> String {
        let root = try TestVideos.folder(name) + "/videos"
        for (c, className) in ["a", "b", "c"].enumerated() {
            try FileManager.default.createDirectory(atPath: "\(root)/\(className)", withIntermediateDirectories: true)
            for v in 0..<2 {
                let codec = v == 0 ? "MJPG" : "FFV1", ending = v == 0 ? "avi" : "mkv"
                try TestVideos.write(
                    "\(root)/\(className)/clip\(v).\(ending)", codec: codec, count: 9 + 3 * c + v, width: 24 + 2 * v,
                    height: 18
                ) { f, x, y in [UInt8((f * 9 + x * 5) % 256), UInt8((c * 70 + y * 7) % 256), UInt8(v * 90 + 30)] }
            }
        }
        return root
    }

    func extract(_ arguments: [String], mpi ranks: Int = 1) throws -> (Int32, String) {
        let base = ["--model", Self.model, "--frames", "5", "--size", "16", "--threads", "1"] + arguments
        if ranks > 1 {
            let mpirun = try TestTools.requireMPIRun()
            return try TestTools.run(
                mpirun, ["-np", "\(ranks)", "--oversubscribe", "--bind-to", "none", Self.tool] + base, timeout: 180)
        }
        return try TestTools.run(Self.tool, base, timeout: 180)
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func testClassFoldersBecomeTheFilesChainTrainReads() throws {
        let root = try classFolders("layout")
        let out = (root as NSString).deletingLastPathComponent + "/out"
        let (status, log) = try extract(
            ["--videos", root, "--out", out, "--name", "toy_train", "--aug-copies", "2", "--labels-from-folders"])
        XCTAssertEqual(status, 0, log)
        XCTAssertTrue(log.contains("6/6 videos"), log)
        let feats = try HDF5File(path: out + "/toy_train_feats.h5").dataset("feats")
        XCTAssertEqual(feats.shape, [6, 5, 6])
        let copies = try HDF5File(path: out + "/toy_train_feats_aug.h5").dataset("feats")
        XCTAssertEqual(copies.shape, [6, 2, 5, 6])
        XCTAssertNotEqual(
            try copies.readFloats(start: [0, 0, 0, 0], count: [1, 1, 5, 6]),
            try feats.readFloats(start: [0, 0, 0], count: [1, 5, 6]))
        let labels = try LabelReader.read(path: out + "/toy_train_labels.mat")
        XCTAssertEqual([labels.rows, labels.classes], [6, 3])
        XCTAssertEqual(
            (0..<6).map { Array(labels.row($0)) },
            [[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]])
        XCTAssertEqual(try String(contentsOfFile: out + "/toy_train_classes.txt", encoding: .utf8), "a\nb\nc\n")
        let csv = try String(contentsOfFile: out + "/toy_train_videos.csv", encoding: .utf8)
            .split(separator: "\n")
        XCTAssertEqual(csv.count, 7)
        XCTAssertTrue(csv[1].hasPrefix("0,\(root)/a/clip0.avi,9,0.360,ok"), String(csv[1]))
        // The dataset config validates against its files, as chain-train would read it.
        let config = try DatasetConfig.load(path: out + "/toy_train.yaml")
        XCTAssertEqual(config.featureSize, 6)
        XCTAssertEqual(config.train.augmented, "toy_train_feats_aug.h5")
        XCTAssertNoThrow(try DatasetValidator(config: config, worldSize: 1, scanValues: true).validate())
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/.toy_train.work"), "work folder removed")

        // A test half pairs with it: toy.yaml in the public layout.
        let (s2, log2) = try extract(
            ["--videos", root, "--out", out, "--name", "toy_test", "--labels-from-folders"])
        XCTAssertEqual(s2, 0, log2)
        let pair = try DatasetConfig.load(path: out + "/toy.yaml")
        XCTAssertEqual(pair.train.features, "toy_train_feats.h5")
        XCTAssertEqual(pair.train.augmented, "toy_train_feats_aug.h5")
        XCTAssertEqual(pair.query.features, "toy_test_feats.h5")
        XCTAssertEqual(pair.query.labels, "toy_test_labels.mat")
        XCTAssertNoThrow(try DatasetValidator(config: pair, worldSize: 1, scanValues: false).validate())

        // The same name again is refused (nothing overwritten) unless --overwrite.
        let before = try bytes(out + "/toy_train_feats.h5")
        let (s3, log3) = try extract(["--videos", root, "--out", out, "--name", "toy_train"])
        XCTAssertNotEqual(s3, 0)
        XCTAssertTrue(log3.contains("toy_train_feats.h5 exists"), log3)
        XCTAssertEqual(try bytes(out + "/toy_train_feats.h5"), before)
    }

    func testStoppedAndRerunGivesTheBytesOfAnUninterruptedRunOnAnyWorldSize() throws {
        let root = try classFolders("resume")
        let parent = (root as NSString).deletingLastPathComponent
        let common = ["--videos", root, "--name", "r", "--aug-copies", "2", "--labels-from-folders", "--seed", "3"]
        let (s1, l1) = try extract(common + ["--out", parent + "/whole"])
        XCTAssertEqual(s1, 0, l1)

        let (s2, l2) = try extract(common + ["--out", parent + "/stopped", "--stop-after", "2"])
        XCTAssertEqual(s2, 0, l2)
        XCTAssertTrue(l2.contains("stopped after 2 videos"), l2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: parent + "/stopped/r_feats.h5"))
        let (s3, l3) = try extract(["--dtype", "float16"] + common + ["--out", parent + "/stopped"])
        XCTAssertNotEqual(s3, 0, "other settings do not mix with the stopped run's rows")
        XCTAssertTrue(l3.contains("--dtype"), l3)
        // A kill in the middle of a row leaves a temporary part; the rerun removes it.
        let stale = parent + "/stopped/.r.work/rows/00000004.part.tmp-99999"
        try Data("half a part".utf8).write(to: URL(fileURLWithPath: stale))
        let (s4, l4) = try extract(common + ["--out", parent + "/stopped"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        XCTAssertEqual(s4, 0, l4)
        XCTAssertTrue(l4.contains("resuming: 2 of 6"), l4)

        var outputs = [parent + "/stopped"]
        if TestTools.mpirun != nil {
            let (s5, l5) = try extract(common + ["--out", parent + "/two-ranks"], mpi: 2)
            XCTAssertEqual(s5, 0, l5)
            outputs.append(parent + "/two-ranks")
        }
        for out in outputs {
            for file in ["r_feats.h5", "r_feats_aug.h5", "r_labels.mat", "r_classes.txt", "r.yaml"] {
                XCTAssertEqual(try bytes("\(out)/\(file)"), try bytes("\(parent)/whole/\(file)"), "\(out)/\(file)")
            }
        }
    }

    func testBadVideosStopBeforeTheFinalFilesUnlessSkipped() throws {
        let root = try classFolders("bad")
        let out = (root as NSString).deletingLastPathComponent + "/out"
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: root + "/b/broken.mp4"))
        let (s1, l1) = try extract(["--videos", root, "--out", out, "--name", "x"])
        XCTAssertNotEqual(s1, 0)
        XCTAssertTrue(l1.contains("1 of 7 videos could not be used"), l1)
        XCTAssertTrue(l1.contains("\(root)/b/broken.mp4: cannot open"), l1)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        XCTAssertEqual(left.filter { !$0.hasPrefix(".") }, [], "no final file")

        let (s2, l2) = try extract(["--videos", root, "--out", out, "--name", "x", "--skip-bad"])
        XCTAssertEqual(s2, 0, l2)
        XCTAssertTrue(l2.contains("resuming: 7 of 7"), "the rerun redoes nothing: \(l2)")
        XCTAssertEqual(try HDF5File(path: out + "/x_feats.h5").dataset("feats").shape, [6, 5, 6])
        let csv = try String(contentsOfFile: out + "/x_videos.csv", encoding: .utf8)
        XCTAssertTrue(csv.contains(",\(root)/b/broken.mp4,,,\"skipped: cannot open"), csv)
    }

    func testListsAndOptionsAreCheckedBeforeAnyWork() throws {
        let root = try classFolders("lists")
        let parent = (root as NSString).deletingLastPathComponent
        let list = parent + "/list.txt"
        try "# videos\na/clip0.avi\n\nb/missing.mp4\n".write(toFile: list, atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: list, toPath: root + "/list.txt")
        let cases: [([String], String)] = [
            (["--videos", root + "/list.txt"], "list.txt, line 4: no such video file: b/missing.mp4"),
            (["--videos", parent + "/nothing"], "--videos \(parent)/nothing: no such file or folder"),
            (["--videos", root, "--model", parent + "/none.onnx"], "--model \(parent)/none.onnx"),
            (["--videos", root, "--dtype", "int8"], "--dtype int8"),
            (["--videos", root, "--mean", "0.5"], "--mean and --std take 3 values"),
            (["--videos", root + "/a/clip0.avi", "--labels-from-folders"], "not inside a class folder"),
        ]
        for (arguments, message) in cases {
            let (status, log) = try extract(arguments + ["--out", parent + "/out", "--name", "n"])
            XCTAssertNotEqual(status, 0, "\(arguments)")
            XCTAssertTrue(log.contains(message), "\(arguments): \(log)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: parent + "/out/n_feats.h5"))
    }

    func testFloat16FilesHoldTheFloat32FeaturesRounded() throws {
        let root = try classFolders("float16")
        let parent = (root as NSString).deletingLastPathComponent
        for dtype in ["float32", "float16"] {
            let (status, log) = try extract(
                ["--videos", root, "--out", parent + "/" + dtype, "--name", "h", "--dtype", dtype, "--aug-copies", "1"])
            XCTAssertEqual(status, 0, log)
        }
        for file in ["h_feats.h5", "h_feats_aug.h5"] {
            let full = try HDF5File(path: parent + "/float32/" + file).dataset("feats")
            let half = try HDF5File(path: parent + "/float16/" + file).dataset("feats")
            XCTAssertEqual(half.elementType, .float16)
            XCTAssertEqual(half.shape, full.shape)
            for (a, b) in zip(try full.readFloats(), try half.readFloats()) { XCTAssertEqual(Float(Float16(a)), b) }
        }
    }
}
