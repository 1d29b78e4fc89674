import CVision

/// A per-frame CNN from an ONNX file, run by OpenCV's dnn module: images in, one feature row
/// per image out. Loading runs one image through it to learn (and check) the row width.
public final class FeatureNetwork {
    let network: OpaquePointer
    public let path: String
    /// Nodes rewritten for OpenCV's importer (`chain_network_load`).
    public let rewrites: Int
    /// F: the width of a feature row.
    public private(set) var featureSize: Int

    public init(path: String, probeSize: Int) throws {
        var network: OpaquePointer? = nil
        var rewrites: Int32 = 0
        var error = [CChar](repeating: 0, count: 1024)
        guard chain_network_load(path, &network, &rewrites, &error, error.count) == 0, let network else {
            throw ExtractionError("--model \(path): \(String(errorBuffer: error))")
        }
        self.network = network
        self.path = path
        self.rewrites = Int(rewrites)
        featureSize = 0
        let probe = [Float](repeating: 0, count: 2 * 3 * probeSize * probeSize)
        featureSize = try forward(probe, batch: 2, size: probeSize, capacity: 1 << 22).featureSize
    }

    deinit { chain_network_free(network) }

    /// Runs `batch` images of 3 × size × size; returns batch × F values.
    public func callAsFunction(_ input: [Float], batch: Int, size: Int) throws -> [Float] {
        let (values, width) = try forward(input, batch: batch, size: size, capacity: batch * featureSize)
        guard width == featureSize else {
            throw ExtractionError("--model \(path): \(width) features per image, \(featureSize) at load")
        }
        return values
    }

    private func forward(_ input: [Float], batch: Int, size: Int, capacity: Int) throws -> ([Float], featureSize: Int) {
        precondition(input.count == batch * 3 * size * size)
        var output = [Float](repeating: 0, count: capacity)
        var width: Int64 = 0
        var error = [CChar](repeating: 0, count: 1024)
        let status = output.withUnsafeMutableBufferPointer { out in
            chain_network_forward(
                network, input, Int32(batch), 3, Int32(size), Int32(size), out.baseAddress, capacity, &width, &error,
                error.count)
        }
        guard status == 0 else { throw ExtractionError("--model \(path): \(String(errorBuffer: error))") }
        output.removeLast(capacity - batch * Int(width))
        return (output, Int(width))
    }
}
