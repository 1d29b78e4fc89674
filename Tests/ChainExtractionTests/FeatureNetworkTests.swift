import ChainExtraction
import Foundation
import XCTest

/// The ONNX CNN through OpenCV's dnn, checked against numpy's forward pass of the same
/// weights (make_tiny_cnn.py), including the node forms CVision rewrites for OpenCV 4.6.
final class FeatureNetworkTests: XCTestCase {
    struct Expected: Decodable {
        var input_shape: [Int]
        var input: [Float]
        var features: [Double]
    }

    func testTinyCNNMatchesNumpyThroughTheRewrites() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestVideos.fixture("tiny_cnn_expected.json")))
        let expected = try JSONDecoder().decode(Expected.self, from: data)
        for (name, rewrites) in [("tiny_cnn.onnx", 5), ("tiny_cnn_pool23.onnx", 4)] {
            let network = try FeatureNetwork(path: TestVideos.fixture(name), probeSize: 16)
            XCTAssertEqual(network.featureSize, 6, name)
            XCTAssertEqual(network.rewrites, rewrites, "\(name): 2 Clips, the Identity and the pooling rewritten")
            let output = try network(expected.input, batch: expected.input_shape[0], size: expected.input_shape[2])
            XCTAssertEqual(output.count, expected.features.count)
            for (a, b) in zip(output, expected.features) { XCTAssertEqual(Double(a), b, accuracy: 1e-4, name) }
        }
    }

    func testAModelWithoutOneRowPerImageIsRefused() throws {
        XCTAssertThrowsError(try FeatureNetwork(path: TestVideos.fixture("tiny_cnn_spatial.onnx"), probeSize: 16)) {
            let message = "\($0)"
            XCTAssertTrue(message.contains("tiny_cnn_spatial.onnx"), message)
            XCTAssertTrue(message.contains("not 2 x F"), message)
        }
    }

    func testAFileThatIsNotAModelIsRefused() throws {
        let folder = try TestVideos.folder("not-a-model")
        let path = folder + "/model.onnx"
        try Data("definitely not protobuf".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try FeatureNetwork(path: path, probeSize: 16)) {
            XCTAssertTrue("\($0)".contains(path), "\($0)")
        }
    }
}
