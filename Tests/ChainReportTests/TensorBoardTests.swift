import ChainReport
import Foundation
import XCTest

/// TensorBoard event files: CRC-32C against its check value, TFRecord framing read back and
/// damage detected, and a writer's events (version record, tags, steps, values) read back.
final class TensorBoardTests: XCTestCase {
    var folder = ""
    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "chain-tb-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func testCRC32CCheckValuesAndMask() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)  // the standard check value
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)  // RFC 3720 B.4
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum(Array(0..<32)), 0x46DD_794E)
        // Masked: rotate right 15, add 0xa282ead8.
        let crc = CRC32C.checksum(Array("123456789".utf8))
        XCTAssertEqual(CRC32C.masked(Array("123456789".utf8)), ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8)
        XCTAssertEqual(CRC32C.masked([UInt8]()), 0xA282_EAD8)
    }

    func testRecordsRoundTripAndDamageIsNamed() throws {
        let payloads = [Data("first".utf8), Data(), Data((0..<300).map { UInt8($0 % 256) })]
        let file = payloads.map(TFRecord.frame).reduce(Data(), +)
        XCTAssertEqual(file.count, payloads.map { $0.count + 16 }.reduce(0, +))
        XCTAssertEqual(try TFRecord.records(in: file, source: "f"), payloads)
        // The length is little-endian and its CRC follows it.
        XCTAssertEqual(Array(file.prefix(8)), [5, 0, 0, 0, 0, 0, 0, 0])
        var damaged = file
        damaged[14] ^= 1  // a data byte of the first record
        XCTAssertThrowsError(try TFRecord.records(in: damaged, source: "f")) {
            XCTAssertEqual("\($0)", "f: bad data CRC in the record at byte 0")
        }
        var badLength = file
        badLength[21 + 1] ^= 1  // the second record's length
        XCTAssertThrowsError(try TFRecord.records(in: badLength, source: "f")) {
            XCTAssertEqual("\($0)", "f: bad length CRC at byte 21")
        }
        XCTAssertThrowsError(try TFRecord.records(in: file.dropLast(2), source: "f")) {
            XCTAssertTrue("\($0)".contains("truncated record at byte 37"), "\($0)")
        }
    }

    func testWriterEventsReadBack() throws {
        let writer = try TensorBoardWriter(directory: folder, now: 1_700_000_000)
        try writer.scalars([("loss/total", 2.5), ("train/lr", 1e-4)], step: 1, wallTime: 1_700_000_001)
        try writer.scalars([("map/at_5", 0.4375)], step: 12, wallTime: 1_700_000_002)
        try writer.scalars([], step: 13)  // nothing to write: no event
        let name = (writer.path as NSString).lastPathComponent
        XCTAssertTrue(name.hasPrefix("events.out.tfevents.1700000000."), name)
        let events = try TensorBoardWriter.read(path: writer.path)
        XCTAssertEqual(events.count, 3)
        XCTAssertEqual(events[0].fileVersion, "brain.Event:2")
        XCTAssertEqual(events[0].wallTime, 1_700_000_000)
        XCTAssertEqual(events[1].step, 1)
        XCTAssertEqual(events[1].wallTime, 1_700_000_001)
        XCTAssertEqual(events[1].summary.value.map(\.tag), ["loss/total", "train/lr"])
        XCTAssertEqual(events[1].summary.value.map(\.simpleValue), [2.5, Float(1e-4)])
        XCTAssertEqual(events[2].step, 12)
        XCTAssertEqual(events[2].summary.value.first?.simpleValue, 0.4375)
    }

    /// The step, epoch and evaluation records as scalars: terms that are off are left out.
    func testMetricsRecordScalars() {
        let losses = MetricsRecord.Losses(total: 3, contrastive: 2, order: 1, scene: 0, reconstruction: 0)
        let step = MetricsRecord.step(step: 7, epoch: 2, learningRate: 0.001, losses: losses, videosPerSecond: 900)
        XCTAssertEqual(step.scalars.step, 7)
        XCTAssertEqual(
            step.scalars.values.map(\.tag),
            ["loss/total", "loss/contrastive", "loss/order", "train/lr", "train/videos_per_second"])
        let epoch = MetricsRecord.epoch(
            epoch: 2, step: 12, losses: losses, orderAccuracy: 0.5, orderChance: 0.25, scenesPerView: 0, seconds: 3,
            learningRate: 0.001)
        XCTAssertEqual(epoch.scalars.step, 12)
        XCTAssertEqual(
            epoch.scalars.values.map(\.tag),
            [
                "epoch/loss", "epoch/contrastive", "epoch/order", "epoch/order_accuracy", "epoch/order_chance",
                "epoch/seconds",
            ])
        let eval = MetricsRecord.evaluation(epoch: 2, step: 12, mapAtK: [20: 0.2, 5: 0.5], mapAll: 0.3)
        XCTAssertEqual(eval.scalars.values.map(\.tag), ["map/at_5", "map/at_20", "map/all"])
        XCTAssertEqual(eval.scalars.values.map(\.value), [0.5, 0.2, 0.3])
    }
}
