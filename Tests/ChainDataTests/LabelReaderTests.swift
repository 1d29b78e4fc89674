import ChainData
import Foundation
import XCTest

/// Label files written by scipy.io.savemat and h5py (make_label_fixtures.py).
final class LabelReaderTests: XCTestCase {
    /// E[i][j] = 1 if (3i + j) % 4 == 0, 7 × 5.
    static let expected: [UInt8] = (0..<7).flatMap { i in (0..<5).map { j in UInt8((3 * i + j) % 4 == 0 ? 1 : 0) } }

    func fixture(_ name: String) throws -> String {
        try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil)).path
    }

    func testEveryFormatReadsTheSameMatrix() throws {
        for name in [
            "v5_double.mat", "v5_double_z.mat", "v5_single_z.mat", "v5_uint8.mat", "v5_logical_z.mat",
            "v73.mat", "plain_labels.h5",
        ] {
            let labels = try LabelReader.read(path: fixture(name))
            XCTAssertEqual(labels.rows, 7, name)
            XCTAssertEqual(labels.classes, 5, name)
            XCTAssertEqual(labels.values, Self.expected, name)
        }
        let row = try LabelReader.read(path: fixture("v5_row.mat"))
        XCTAssertEqual(row.rows, 1)
        XCTAssertEqual(Array(row.row(0)), Array(Self.expected[0..<5]))
    }

    func testVariableNamesAndOtherVariables() throws {
        let mat = try MATFile(path: fixture("v5_logical_z.mat"))
        XCTAssertEqual(Set(mat.names), ["other", "labels"])
        let other = try mat.variable("other")
        XCTAssertEqual(other.values, [0, 1, 2])
        XCTAssertEqual(try mat.variable("labels").className, "logical")
        XCTAssertEqual(try MATFile(path: fixture("v5_single_z.mat")).variable("re_label").className, "single")
    }

    func testRelevanceAndBitsets() throws {
        let labels = try LabelReader.read(path: fixture("v5_double.mat"))
        // Row 0 = [1,0,0,0,1], row 4 = [1,0,0,0,1] (3·4 = 12 ≡ 0), row 1 = [0,1,0,0,0].
        XCTAssertTrue(labels.shares(0, with: labels, 4))
        XCTAssertFalse(labels.shares(0, with: labels, 1))
        let (words, bits) = labels.bitsets()
        XCTAssertEqual(words, 1)
        XCTAssertEqual(bits[0], 0b10001)
        XCTAssertEqual(bits[1], 0b00010)
    }

    func testBadInputGetsClearErrors() throws {
        func message(_ body: () throws -> Any) -> String {
            do { _ = try body(); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(
            message { try LabelReader.read(path: "/nonexistent/l.mat") }.contains("/nonexistent/l.mat: no such file"))
        let corrupt = try fixture("v5_corrupt_z.mat")
        let m1 = message { try LabelReader.read(path: corrupt) }
        XCTAssertTrue(m1.contains("v5_corrupt_z.mat") && (m1.contains("truncated") || m1.contains("corrupt")), m1)
        let m2 = message { try LabelReader.read(path: try fixture("v5_double.mat"), keys: ["q_label"]) }
        XCTAssertTrue(m2.contains("none of the label keys q_label (found: labels)"), m2)
        let m3 = message { try LabelReader.read(path: try fixture("v5_sparse.mat")) }
        XCTAssertTrue(m3.contains("'labels' is a sparse matrix"), m3)
        let m4 = message { try LabelReader.read(path: try fixture("v73.mat"), keys: ["re_label"]) }
        XCTAssertTrue(m4.contains("v73.mat: none of the label keys re_label (found: labels)"), m4)
        // Not a MAT-file and not HDF5.
        let text = FileManager.default.temporaryDirectory.appendingPathComponent(
            "chain-labels-\(UUID().uuidString).mat")
        try "hello".write(to: text, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: text) }
        XCTAssertTrue(message { try LabelReader.read(path: text.path) }.contains("neither a MAT-file"))
        // A MAT header whose only element runs past the end of the file.
        let truncated = FileManager.default.temporaryDirectory.appendingPathComponent(
            "chain-trunc-\(UUID().uuidString).mat")
        let whole = try Data(contentsOf: URL(fileURLWithPath: try fixture("v5_double.mat")))
        try whole.prefix(200).write(to: truncated)
        defer { try? FileManager.default.removeItem(at: truncated) }
        XCTAssertTrue(message { try LabelReader.read(path: truncated.path) }.contains("truncated"))
    }

    func testNonBinaryValuesAreRejectedWithTheirPosition() throws {
        // A v5 file with a 2 in it: write with our own minimal writer of an uncompressed double matrix.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "chain-nonbinary-\(UUID().uuidString).mat")
        defer { try? FileManager.default.removeItem(at: url) }
        try Self.writeV5Double(name: "labels", rows: 2, columns: 2, columnMajor: [1, 0, 2, 1], to: url)
        let m =
            (try? LabelReader.read(path: url.path)).map { _ in "no error" }
            ?? {
                do { _ = try LabelReader.read(path: url.path); return "" } catch { return "\(error)" }
            }()
        XCTAssertTrue(m.contains("'labels' row 0, class 1 holds 2.0"), m)
    }

    /// A minimal level-5 writer (uncompressed double matrix), for building bad inputs.
    static func writeV5Double(name: String, rows: Int, columns: Int, columnMajor: [Double], to url: URL) throws {
        var d = Data("MATLAB 5.0 MAT-file, written by the CHAIN tests".utf8)
        d +=
            Data(repeating: 0x20, count: 116 - d.count) + Data(repeating: 0, count: 8) + Data([0x00, 0x01, 0x49, 0x4D])
        func u32(_ v: UInt32) -> Data { withUnsafeBytes(of: v.littleEndian) { Data($0) } }
        func padded(_ x: Data) -> Data { x + Data(repeating: 0, count: (8 - x.count % 8) % 8) }
        var m = Data()
        m += u32(6) + u32(8) + u32(6) + u32(0)  // flags: double
        m += u32(5) + u32(8) + u32(UInt32(rows)) + u32(UInt32(columns))  // dims
        let nameBytes = Data(name.utf8)
        m += u32(1) + u32(UInt32(nameBytes.count)) + padded(nameBytes)  // name
        var values = Data()
        for v in columnMajor { values += withUnsafeBytes(of: v.bitPattern.littleEndian) { Data($0) } }
        m += u32(9) + u32(UInt32(values.count)) + values  // real part
        d += u32(14) + u32(UInt32(m.count)) + m
        try d.write(to: url)
    }
}

final class SharedLabelTests: XCTestCase {
    /// The shared set's labels: scipy-compressed v5, 800 × 10 one-hot, 80 per class.
    func testReadsMmnistLabelsWhenPresent() throws {
        let dirs = ["../shared/data/mmnist", "../../shared/data/mmnist"]
        guard let dir = dirs.first(where: { FileManager.default.fileExists(atPath: $0 + "/mmnist_train_labels.mat") })
        else {
            throw XCTSkip("../shared/data/mmnist is not present")
        }
        let train = try LabelReader.read(path: dir + "/mmnist_train_labels.mat")
        XCTAssertEqual(train.rows, 800)
        XCTAssertEqual(train.classes, 10)
        for i in 0..<800 { XCTAssertEqual(train.row(i).reduce(0) { $0 + Int($1) }, 1) }
        for c in 0..<10 { XCTAssertEqual((0..<800).filter { train.values[$0 * 10 + c] == 1 }.count, 80) }
        XCTAssertEqual(try LabelReader.read(path: dir + "/mmnist_test_labels.mat").rows, 200)
    }
}
