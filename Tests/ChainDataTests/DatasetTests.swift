import ChainData
import ChainNumerics
import ChainStorage
import Foundation
import XCTest

/// A scratch folder removed after the test.
final class ScratchFolder {
    let path: String
    init(_ name: String) throws {
        path = NSTemporaryDirectory() + "chain-\(name)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    var contents: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
}

/// Value of video v, frame t, feature k in the test files: every entry distinct.
func testValue(_ v: Int, _ t: Int, _ k: Int, copy: Int = 0) -> Float { Float(v * 1000 + copy * 100 + t * 10 + k) / 64 }

/// Writes an (N, T, F) feature file (or (N, A, T, F) with `copies`) of `testValue`s.
@discardableResult
func writeFeatures(
    _ path: String, videos: Int, frames: Int, features: Int, copies: Int? = nil,
    type: HDF5ElementType = .float32, key: String = "feats"
) throws -> [Float] {
    var values: [Float] = []
    for v in 0..<videos {
        for c in 0..<(copies ?? 1) {
            for t in 0..<frames { for k in 0..<features { values.append(testValue(v, t, k, copy: c)) } }
        }
    }
    let shape = copies.map { [videos, $0, frames, features] } ?? [videos, frames, features]
    let file = try HDF5File(path: path, mode: .truncate)
    try file.write(key, values: values, shape: shape, type: type)
    file.close()
    return values
}

/// One-hot labels: video v has class v % classes.
func writeLabels(_ path: String, videos: Int, classes: Int) throws {
    var values = [Double](repeating: 0, count: videos * classes)
    for v in 0..<videos { values[v * classes + v % classes] = 1 }
    try MATWriter.write(path: path, name: "labels", rows: videos, columns: classes, values: values)
}

/// A small valid dataset in the UCF101 layout plus its YAML config.
func writeDataset(
    _ folder: ScratchFolder, train: Int = 12, queries: Int = 4, frames: Int = 3, features: Int = 4,
    classes: Int = 3
) throws -> String {
    try writeFeatures(folder.file("toy_train_feats.h5"), videos: train, frames: frames, features: features)
    try writeFeatures(folder.file("toy_test_feats.h5"), videos: queries, frames: frames, features: features)
    try writeLabels(folder.file("toy_train_labels.mat"), videos: train, classes: classes)
    try writeLabels(folder.file("toy_test_labels.mat"), videos: queries, classes: classes)
    let yaml = """
        name: toy
        root: .
        frames: \(frames)
        feature_size: \(features)
        classes: \(classes)
        train: { features: toy_train_feats.h5 }
        database: { features: toy_train_feats.h5, labels: toy_train_labels.mat }
        query: { features: toy_test_feats.h5, labels: toy_test_labels.mat }

        """
    let path = folder.file("toy.yaml")
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

final class DatasetConfigTests: XCTestCase {
    func testParsesAndResolvesPaths() throws {
        let folder = try ScratchFolder("config")
        let path = try writeDataset(folder)
        let config = try DatasetConfig.load(path: path, environment: [:])
        XCTAssertEqual(config.name, "toy")
        XCTAssertEqual(config.frames, 3)
        XCTAssertEqual(config.featureSize, 4)
        XCTAssertEqual(config.classes, 3)
        XCTAssertEqual(config.root, URL(fileURLWithPath: folder.path).standardizedFileURL.path)
        XCTAssertEqual(
            config.path(config.query.features), (config.root as NSString).appendingPathComponent("toy_test_feats.h5"))
        XCTAssertEqual(config.train.featureKey, "feats")
        XCTAssertEqual(config.database.labelKeys, LabelReader.defaultKeys)
        // Overrides: the argument wins over the environment, which wins over the file.
        XCTAssertEqual(
            try DatasetConfig.load(path: path, environment: ["CHAIN_DATA_ROOT": "/elsewhere"]).root, "/elsewhere")
        XCTAssertEqual(
            try DatasetConfig.load(path: path, rootOverride: "/mine", environment: ["CHAIN_DATA_ROOT": "/x"]).root,
            "/mine")
    }

    func testYAMLRoundTrip() throws {
        var config = DatasetConfig.publicLayout(
            name: "ucf", root: "/data/ucf", frames: 25, featureSize: 4096, classes: 101)
        config.query.labelKey = "q_label"
        config.train.augmented = "ucf_train_feats_aug.h5"
        XCTAssertEqual(try DatasetConfig.parse(yaml: try config.yaml(), source: "round trip"), config)
    }

    func testCommittedConfigsParse() throws {
        let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../configs/datasets"
        ).standardizedFileURL
        let files = try FileManager.default.contentsOfDirectory(atPath: configs.path).filter { $0.hasSuffix(".yaml") }
        XCTAssertGreaterThanOrEqual(
            files.count, 5, "configs/datasets should describe FCVID, ActivityNet, UCF101, HMDB51 and mmnist")
        for file in files {
            let config = try DatasetConfig.load(path: configs.appendingPathComponent(file).path, environment: [:])
            XCTAssertFalse(config.name.isEmpty, file)
        }
    }
}

final class DistributedSamplerTests: XCTestCase {
    func testEveryVideoExactlyOncePerEpochAtWorldSizes1To4() throws {
        for world in 1...4 {
            for count in [world, 10, 37, 64] {
                let batch = world * 3
                let sampler = try DistributedSampler(
                    count: count, batchSize: batch, worldSize: world, seed: 5, tail: .partial)
                for epoch in 0..<3 {
                    let order = sampler.order(epoch: epoch)
                    var seen = [Int](repeating: 0, count: count)
                    for step in 0..<sampler.stepsPerEpoch {
                        let slices = (0..<world).map { sampler.videos(order, step: step, rank: $0) }
                        let sizes = slices.map(\.count)
                        XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, "slices differ by at most one video")
                        for v in slices.joined() { seen[v] += 1 }
                    }
                    XCTAssertEqual(
                        seen, [Int](repeating: 1, count: count), "world \(world), \(count) videos, epoch \(epoch)")
                }
            }
        }
    }

    func testGlobalBatchesDoNotDependOnTheWorldSize() throws {
        let reference = try DistributedSampler(count: 50, batchSize: 12, worldSize: 1, seed: 9)
        XCTAssertEqual(reference.stepsPerEpoch, 4)  // the tail of 2 is dropped
        for world in [2, 3, 4] {
            let sampler = try DistributedSampler(count: 50, batchSize: 12, worldSize: world, seed: 9)
            for epoch in 0..<2 {
                let order = sampler.order(epoch: epoch)
                XCTAssertEqual(order, reference.order(epoch: epoch))
                for step in 0..<sampler.stepsPerEpoch {
                    let global = (0..<world).flatMap { sampler.videos(order, step: step, rank: $0) }
                    XCTAssertEqual(global, reference.videos(order, step: step, rank: 0))
                    XCTAssertEqual(
                        Set((0..<world).map { sampler.videos(order, step: step, rank: $0).count }), [12 / world])
                }
            }
        }
        XCTAssertNotEqual(reference.order(epoch: 0), reference.order(epoch: 1))
        XCTAssertNotEqual(
            reference.order(epoch: 0),
            try DistributedSampler(count: 50, batchSize: 12, worldSize: 1, seed: 10).order(epoch: 0))
    }

    func testResumePositionReplaysTheSameBatches() throws {
        let sampler = try DistributedSampler(count: 30, batchSize: 8, worldSize: 2, seed: 3)
        // Uninterrupted: the batches of rank 1 over 3 epochs.
        var all: [[Int]] = []
        var p = DistributedSampler.Position(epoch: 0, step: 0)
        while p.epoch < 3 {
            all.append(sampler.videos(sampler.order(epoch: p.epoch), step: p.step, rank: 1))
            p = sampler.advance(p)
        }
        XCTAssertEqual(all.count, 3 * sampler.stepsPerEpoch)
        // Stopped after 5 steps and resumed from the saved position (a new sampler, as after a restart).
        let saved = DistributedSampler.Position(epoch: 1, step: 2)
        XCTAssertEqual(sampler.globalStep(saved), 5)
        let restarted = try DistributedSampler(count: 30, batchSize: 8, worldSize: 2, seed: 3)
        var resumed: [[Int]] = []
        p = saved
        while p.epoch < 3 {
            resumed.append(restarted.videos(restarted.order(epoch: p.epoch), step: p.step, rank: 1))
            p = restarted.advance(p)
        }
        XCTAssertEqual(resumed, Array(all[5...]))
        let data = try JSONEncoder().encode(saved)
        XCTAssertEqual(try JSONDecoder().decode(DistributedSampler.Position.self, from: data), saved)
    }

    func testImpossibleShardingIsRejected() {
        XCTAssertThrowsError(try DistributedSampler(count: 3, batchSize: 4, worldSize: 4, seed: 1)) {
            XCTAssertTrue("\($0)".contains("3 training videos for 4 ranks"), "\($0)")
        }
        XCTAssertThrowsError(try DistributedSampler(count: 100, batchSize: 10, worldSize: 4, seed: 1)) {
            XCTAssertTrue("\($0)".contains("not divisible by the world size 4"), "\($0)")
        }
        XCTAssertThrowsError(try DistributedSampler(count: 10, batchSize: 16, worldSize: 2, seed: 1)) {
            XCTAssertTrue("\($0)".contains("cannot fill one global batch of 16"), "\($0)")
        }
    }
}

final class FeatureFileTests: XCTestCase {
    func testReadsVideosInEveryStoredTypeAndOrder() throws {
        let folder = try ScratchFolder("features")
        for type in [HDF5ElementType.float32, .float16, .uint8] {
            let path = folder.file("f-\(type).h5")
            // uint8 stores raw values: use small integers there.
            let values = try writeFeatures(path, videos: 6, frames: 2, features: 3, type: type)
            let file = try FeatureFile(path: path, frames: 2, featureSize: 3)
            XCTAssertEqual(file.count, 6); XCTAssertEqual(file.videoStride, 6); XCTAssertEqual(file.elementType, type)
            var out = [Float](repeating: 0, count: 4 * 6)
            try out.withUnsafeMutableBufferPointer { try file.read(videos: [4, 5, 0, 2], into: $0.baseAddress!) }
            for (k, v) in [4, 5, 0, 2].enumerated() {
                for i in 0..<6 {
                    let stored = values[v * 6 + i]
                    switch type {
                    case .float16:
                        XCTAssertEqual(
                            out[k * 6 + i], Float(Float16(stored)),
                            "\(type) video "
                                + "\(v)")  // round to nearest even
                    case .uint8: XCTAssertEqual(out[k * 6 + i], Float(UInt8(min(stored, 255))), "\(type) video \(v)")
                    default: XCTAssertEqual(out[k * 6 + i], stored, "\(type) video \(v)")
                    }
                }
            }
        }
    }

    func testAugmentedCopies() throws {
        let folder = try ScratchFolder("augmented")
        let path = folder.file("aug.h5")
        try writeFeatures(path, videos: 3, frames: 2, features: 2, copies: 4)
        let file = try FeatureFile(path: path, augmented: true, frames: 2, featureSize: 2)
        XCTAssertEqual(file.copies, 4); XCTAssertEqual(file.videoStride, 16)
        var out = [Float](repeating: 0, count: 16)
        try out.withUnsafeMutableBufferPointer { try file.read(first: 2, count: 1, into: $0.baseAddress!) }
        XCTAssertEqual(out[3 * 4 + 1 * 2 + 1], testValue(2, 1, 1, copy: 3))
    }

    func testPrefetcherStreamsTheRequestedBatches() throws {
        let folder = try ScratchFolder("prefetch")
        let path = folder.file("f.h5")
        let values = try writeFeatures(path, videos: 20, frames: 2, features: 3)
        let file = try FeatureFile(path: path)
        var g = Philox(seed: 4)
        let batches = (0..<9).map { _ in Array(g.permutation(20).prefix(1 + g.nextInt(below: 6))) }
        let prefetcher = FeaturePrefetcher(file: file, batches: batches)
        for expected in batches {
            let (videos, features) = try prefetcher.next()
            XCTAssertEqual(videos, expected)
            for (k, v) in videos.enumerated() {
                for i in 0..<6 { XCTAssertEqual(features[k * 6 + i], values[v * 6 + i]) }
            }
        }
        // Abandoning a stream part-way (after 0, 1 or 2 batches) stops its reader: deinit must
        // neither hang nor trap (libdispatch traps on semaphores freed below their start value).
        for taken in 0...2 {
            var partial: FeaturePrefetcher? = FeaturePrefetcher(file: file, batches: batches)
            for _ in 0..<taken { _ = try partial!.next() }
            partial = nil
        }
    }

    func testPrefetcherReportsABadVideo() throws {
        let folder = try ScratchFolder("prefetch-nan")
        let path = folder.file("f.h5")
        var values = (0..<(8 * 2 * 2)).map { Float($0) }
        values[5 * 4 + 3] = .nan
        let h5 = try HDF5File(path: path, mode: .truncate)
        try h5.write("feats", values: values, shape: [8, 2, 2])
        h5.close()
        let prefetcher = FeaturePrefetcher(file: try FeatureFile(path: path), batches: [[0, 1], [7, 5], [2]])
        XCTAssertNoThrow(try prefetcher.next())
        XCTAssertThrowsError(try prefetcher.next()) { XCTAssertTrue("\($0)".contains("in video 5"), "\($0)") }
        XCTAssertNoThrow(try prefetcher.next())
    }
}

final class MATWriterTests: XCTestCase {
    func testRoundTripThroughTheReader() throws {
        let folder = try ScratchFolder("mat")
        let path = folder.file("l.mat")
        let values: [Double] = (0..<(5 * 3)).map { Double(($0 * 7) % 3 == 0 ? 1 : 0) }
        try MATWriter.write(path: path, name: "re_label", rows: 5, columns: 3, values: values)
        XCTAssertTrue(MATFile.isLevel5(path))
        let labels = try LabelReader.read(path: path)
        XCTAssertEqual(labels.rows, 5); XCTAssertEqual(labels.classes, 3)
        XCTAssertEqual(labels.values, values.map { UInt8($0) })
        XCTAssertEqual(try MATFile(path: path).variable("re_label").className, "double")
        XCTAssertEqual(folder.contents, ["l.mat"], "no temporary file is left")
    }
}

final class SyntheticVideosTests: XCTestCase {
    func options(_ seed: UInt64 = 3) -> SyntheticVideos.Options {
        var o = SyntheticVideos.Options()
        o.name = "tiny"; o.videos = 24; o.queries = 8; o.classes = 4; o.frames = 10; o.featureSize = 32
        o.augmentedCopies = 2; o.seed = seed
        return o
    }

    func testWritesAValidDatasetInThePublicLayout() throws {
        let folder = try ScratchFolder("synth")
        let written = try SyntheticVideos(options()).write(to: folder.path, chunk: 5)
        XCTAssertEqual(
            folder.contents,
            [
                "tiny.yaml", "tiny_test_feats.h5", "tiny_test_labels.mat", "tiny_train_feats.h5",
                "tiny_train_feats_aug.h5", "tiny_train_labels.mat",
            ])
        XCTAssertEqual(written.count, 6)
        let config = try DatasetConfig.load(path: folder.file("tiny.yaml"), environment: [:])
        let splits = try DatasetValidator(config: config, worldSize: 4).validate()
        XCTAssertEqual(splits.map(\.videos), [24, 24, 8])
        XCTAssertEqual(splits[0].augmentedCopies, 2)
        // Balanced single labels.
        let labels = try XCTUnwrap(splits[1].labels)
        for c in 0..<4 {
            XCTAssertEqual((0..<24).filter { labels.row($0)[labels.row($0).startIndex + c] == 1 }.count, 6)
        }
        // Sparse, non-negative, finite features, like pooled CNN activations.
        let x = try HDF5File(path: folder.file("tiny_train_feats.h5")).dataset("feats").readFloats()
        XCTAssertTrue(x.allSatisfy { $0 >= 0 && $0.isFinite })
        let zeros = Double(x.filter { $0 == 0 }.count) / Double(x.count)
        XCTAssertTrue(zeros > 0.2 && zeros < 0.9, "fraction of zeros \(zeros)")
        // Augmented copies are perturbations of the video, not copies of it.
        let a = try HDF5File(path: folder.file("tiny_train_feats_aug.h5")).dataset("feats").readFloats()
        let perVideo = 10 * 32
        let copy0 = Array(a[0..<perVideo]), plain = Array(x[0..<perVideo])
        XCTAssertNotEqual(copy0, plain)
        let distance = zip(copy0, plain).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
        let norm = plain.map { $0 * $0 }.reduce(0, +)
        XCTAssertLessThan(distance, norm, "a copy stays closer to its video than the video's own size")
    }

    func testDeterministicAndIndependentOfChunking() throws {
        let a = try ScratchFolder("synth-a"), b = try ScratchFolder("synth-b"), c = try ScratchFolder("synth-c")
        try SyntheticVideos(options()).write(to: a.path, chunk: 256)
        try SyntheticVideos(options()).write(to: b.path, chunk: 3)
        try SyntheticVideos(options(4)).write(to: c.path)
        for name in ["tiny_train_feats.h5", "tiny_test_feats.h5", "tiny_train_feats_aug.h5"] {
            let x = try HDF5File(path: a.file(name)).dataset("feats").readFloats()
            XCTAssertEqual(x, try HDF5File(path: b.file(name)).dataset("feats").readFloats(), name)
            XCTAssertNotEqual(x, try HDF5File(path: c.file(name)).dataset("feats").readFloats(), name)
        }
    }

    func testMultiLabelAndClassesShareScenes() throws {
        var o = options()
        o.multiLabel = true; o.videos = 200; o.augmentedCopies = 0
        let synth = try SyntheticVideos(o)
        // Classes draw from a shared pool: some scene appears in more than one class.
        let uses = synth.classScenes.flatMap { $0 }
        XCTAssertLessThan(Set(uses).count, uses.count)
        let folder = try ScratchFolder("synth-multi")
        try synth.write(to: folder.path)
        let labels = try LabelReader.read(path: folder.file("tiny_train_labels.mat"))
        let two = (0..<labels.rows).filter { labels.row($0).filter { $0 == 1 }.count == 2 }.count
        XCTAssertTrue(two > 30 && two < 100, "\(two) of 200 videos carry two classes (expected about 30%)")
    }

    func testBadOptionsAreRejectedAndNothingIsWritten() throws {
        var o = options(); o.classes = 1
        XCTAssertThrowsError(try SyntheticVideos(o)) { XCTAssertTrue("\($0)".contains("--classes"), "\($0)") }
        o = options(); o.frames = 1
        XCTAssertThrowsError(try SyntheticVideos(o)) { XCTAssertTrue("\($0)".contains("--frames"), "\($0)") }
        let folder = try ScratchFolder("synth-bad")
        let blocked = folder.file("not-a-folder")
        try "x".write(toFile: blocked, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SyntheticVideos(options()).write(to: blocked))
        XCTAssertEqual(folder.contents, ["not-a-folder"])
    }
}
