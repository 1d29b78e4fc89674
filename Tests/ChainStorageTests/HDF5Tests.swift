import ChainStorage
import Foundation
import XCTest

final class HDF5Tests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("chain-hdf5-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func testFloat32RoundTripWithHyperslabs() throws {
        let n = 4, t = 3, f = 5
        let values = (0..<(n * t * f)).map { Float($0) * 0.5 - 7 }
        do {
            let file = try HDF5File(path: path("a.h5"), mode: .truncate)
            try file.write("feats", values: values, shape: [n, t, f])
        }
        let file = try HDF5File(path: path("a.h5"))
        let d = try file.dataset("feats")
        XCTAssertEqual(d.shape, [n, t, f])
        XCTAssertEqual(d.elementType, .float32)
        XCTAssertEqual(try d.readFloats(), values)
        // Rows 1..<3 of every frame, features 2..<5 (a strided block).
        let slab = try d.readFloats(start: [1, 0, 2], count: [2, t, 3])
        var expected: [Float] = []
        for i in 1..<3 { for j in 0..<t { for k in 2..<5 { expected.append(values[(i * t + j) * f + k]) } } }
        XCTAssertEqual(slab, expected)
    }

    /// float16 storage (h5py's layout): values representable in half precision come back
    /// exactly; others round to nearest half; hyperslab reads convert too.
    func testFloat16RoundTripWithHyperslabs() throws {
        let values: [Float] = [0, 1, -2.5, 0.099975586, 65504, -0.000061035156, 3.140625, 1000.5, 1e-3, 7]
        do {
            let file = try HDF5File(path: path("h.h5"), mode: .truncate)
            try file.write(
                "feats", values: values, shape: [5, 2], type: .float16, chunkShape: [1, 2], compressionLevel: 4)
        }
        let d = try HDF5File(path: path("h.h5")).dataset("feats")
        XCTAssertEqual(d.elementType, .float16)
        let back = try d.readFloats()
        for i in 0..<8 { XCTAssertEqual(back[i], values[i], "exactly representable value \(values[i])") }
        XCTAssertEqual(back[8], Float(Float16(1e-3)))
        XCTAssertEqual(back[9], 7)
        XCTAssertEqual(try d.readFloats(start: [3, 1], count: [2, 1]), [1000.5, 7])
    }

    func testUInt8ReadsAsFloatAndAsBytes() throws {
        let bytes: [UInt8] = [0, 1, 127, 128, 255, 42]
        do {
            let file = try HDF5File(path: path("u.h5"), mode: .truncate)
            let d = try file.createDataset("codes", shape: [3, 2], type: .uint8)
            try bytes.withUnsafeBufferPointer {
                try d.writeBytes(start: [0, 0], count: [3, 2], from: $0.baseAddress!)
            }
        }
        let d = try HDF5File(path: path("u.h5")).dataset("codes")
        XCTAssertEqual(d.elementType, .uint8)
        XCTAssertEqual(try d.readBytes(), bytes)
        XCTAssertEqual(try d.readFloats(start: [1, 0], count: [2, 2]), [127, 128, 255, 42])
    }

    func testAttributes() throws {
        do {
            let file = try HDF5File(path: path("attrs.h5"), mode: .truncate)
            try file.attributes.set("bits", Int64(64))
            try file.attributes.set("lr", 1.5e-4)
            try file.attributes.set("name", "chain ✓")
            let d = try file.write("x", values: [1, 2], shape: [2])
            try d.attributes.set("bits", Int64(16))
            try file.attributes.set("bits", Int64(32))  // overwrite
        }
        let file = try HDF5File(path: path("attrs.h5"))
        XCTAssertEqual(try file.attributes.integer("bits"), 32)
        XCTAssertEqual(try file.attributes.double("lr"), 1.5e-4)
        XCTAssertEqual(try file.attributes.string("name"), "chain ✓")
        XCTAssertEqual(try file.dataset("x").attributes.integer("bits"), 16)
        XCTAssertFalse(file.attributes.contains("missing"))
        XCTAssertThrowsError(try file.attributes.integer("missing")) {
            XCTAssertTrue("\($0)".contains("no attribute 'missing'"))
        }
        XCTAssertEqual(file.rootNames(), ["x"])
    }

    func testErrorsNameFileAndKey() throws {
        XCTAssertThrowsError(try HDF5File(path: path("nope.h5"))) {
            XCTAssertTrue("\($0)".contains("nope.h5: no such file"), "\($0)")
        }
        try "not hdf5".write(toFile: path("text.h5"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try HDF5File(path: path("text.h5"))) {
            XCTAssertTrue("\($0)".contains("not an HDF5 file"), "\($0)")
        }
        do {
            let file = try HDF5File(path: path("k.h5"), mode: .truncate)
            try file.write("feats", values: [1, 2, 3, 4], shape: [2, 2])
        }
        let file = try HDF5File(path: path("k.h5"))
        XCTAssertThrowsError(try file.dataset("labels")) {
            XCTAssertTrue("\($0)".contains("k.h5: no dataset 'labels' (found: feats)"), "\($0)")
        }
        let d = try file.dataset("feats")
        XCTAssertThrowsError(try d.readFloats(start: [1, 0], count: [2, 2])) {
            XCTAssertTrue("\($0)".contains("outside shape [2, 2]"), "\($0)")
        }
        XCTAssertThrowsError(try d.readFloats(start: [0], count: [2])) {
            XCTAssertTrue("\($0)".contains("rank 1"), "\($0)")
        }
        XCTAssertThrowsError(try HDF5File(path: path("k.h5"), mode: .createExclusive))
    }

    func testTruncatedFileIsRejected() throws {
        do {
            let file = try HDF5File(path: path("t.h5"), mode: .truncate)
            try file.write("feats", values: [Float](repeating: 1, count: 4096), shape: [64, 64])
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path("t.h5")))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path("t.h5")))
        XCTAssertThrowsError(try HDF5File(path: path("t.h5")).dataset("feats").readFloats())
    }

    /// The shared real-feature set: float16 (800, 25, 1280), gzip+shuffle chunks, read by hyperslab.
    func testReadsSharedMmnistFeaturesWhenPresent() throws {
        let candidates = [
            "../shared/data/mmnist/mmnist_train_feats.h5", "../../shared/data/mmnist/mmnist_train_feats.h5",
        ]
        guard let p = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw XCTSkip("../shared/data/mmnist is not present")
        }
        let d = try HDF5File(path: p).dataset("feats")
        XCTAssertEqual(d.shape, [800, 25, 1280])
        XCTAssertEqual(d.elementType, .float16)
        let video = try d.readFloats(start: [17, 0, 0], count: [1, 25, 1280])
        XCTAssertTrue(video.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 6.5 })  // ReLU6 outputs
        XCTAssertGreaterThan(video.filter { $0 == 0 }.count, 0)
        let frame = try d.readFloats(start: [17, 3, 0], count: [1, 1, 1280])
        XCTAssertEqual(frame, Array(video[(3 * 1280)..<(4 * 1280)]))
    }
}
