import ChainExtraction
import ChainStorage
import Foundation
import XCTest

/// chain-extract's features of real H.264 clips against PyTorch's features of the same decoded
/// frames (../shared/data/shots-videos/reference_feats.h5, the shipped MobileNetV2 at 112).
/// Skips without ../shared.
final class ReferenceFeaturesTests: XCTestCase {
    func testShotsClipsMatchThePyTorchReference() throws {
        let roots = ["../shared", "../../shared"].map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        guard
            let shared = roots.first(where: {
                FileManager.default.fileExists(atPath: $0 + "/data/shots-videos/reference_feats.h5")
            })
        else { throw XCTSkip("../shared/data/shots-videos is not present") }
        let videos = shared + "/data/shots-videos"
        let network = try FeatureNetwork(path: shared + "/models/mobilenetv2_1280.onnx", probeSize: 112)
        var settings = ExtractionSettings(model: "mobilenetv2", normalization: try Normalization())
        settings.size = 112
        let extractor = ClipFeatureExtractor(settings: settings, network: network)
        let table = try String(contentsOfFile: videos + "/videos.csv", encoding: .utf8).split(
            whereSeparator: \.isNewline)
        let reference = try HDF5File(path: videos + "/reference_feats.h5").dataset("feats")
        var cosines: [Double] = []
        var largest: Float = 0
        // Rows 0–5 (train) and 200–205 (test): the CSV's order is the reference's.
        for row in Array(0..<6) + Array(200..<206) {
            let path = videos + "/" + table[row + 1].split(separator: ",")[0]
            let ours = try extractor.extract(row: row, path: path)
            XCTAssertTrue(ours.isUsable, ours.failure ?? "")
            let theirs = try reference.readFloats(start: [row, 0, 0], count: [1, 25, 1280])
            for t in 0..<25 {
                let a = ours.values[t * 1280..<(t + 1) * 1280], b = theirs[t * 1280..<(t + 1) * 1280]
                var dot = 0.0, na = 0.0, nb = 0.0
                for (x, y) in zip(a, b) {
                    dot += Double(x * y); na += Double(x * x); nb += Double(y * y)
                    largest = max(largest, abs(x - y))
                }
                cosines.append(dot / (na * nb).squareRoot())
            }
        }
        let mean = cosines.reduce(0, +) / Double(cosines.count)
        XCTAssertGreaterThanOrEqual(mean, 0.995)
        XCTAssertGreaterThanOrEqual(cosines.min()!, 0.99)
        XCTAssertLessThan(largest, 1e-2)
    }
}
