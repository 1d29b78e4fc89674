import ChainEvaluation
import ChainExport
import ChainModel
import ChainNN
import ChainNumerics
import ChainStorage
import ChainTestSupport
import Foundation
import XCTest

/// The exported hash function against the engine: the graph is well formed, and onnxruntime
/// (launch/check-onnx, a Python venv from PyPI) computes `CHAINModel.encode`'s codes bit for
/// bit and its real values within 1e-5, for every variant the exporter writes (pre/post LN,
/// learned/sinusoidal positions, code/activation pooling, 1–3 views, input shortcut, bits
/// that are not a multiple of 8) and for frame counts other than the trained one.
final class ONNXExportTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "chain-onnx-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    /// A model of `frames` positions whose every parameter is perturbed (so LayerNorm
    /// scales and shifts, the shortcut and biases all matter).
    static func model(
        bits: Int, frames: Int = 8, features: Int = 24, placement: NormPlacement = .pre,
        positional: PositionalEncoding = .learned, positionScale: Float = 1, shortcut: InputShortcut = .none,
        positionIndex: PositionIndex = .frame, seed: UInt64 = 3
    ) -> CHAINModel {
        var c = CHAINConfig(
            featureSize: features, maxFrames: frames, bits: bits, modelSize: 32, layers: 2, heads: 4, ffnSize: 48,
            viewFrames: 4)
        c.encoder.placement = placement
        c.encoder.positional = positional
        c.encoder.positionScale = positionScale
        c.encoder.headSize = 6  // heads·headSize = 24 ≠ d = 32, as ConMH's shapes
        c.inputShortcut = shortcut
        c.positionIndex = positionIndex
        let m = CHAINModel(config: c, seed: seed)
        var rng = Philox(seed: seed).split("perturb")
        let v = m.store.values.pointer
        for i in 0..<m.store.values.count { v[i] += 0.2 * rng.nextGaussian() }
        return m
    }

    static func features(videos: Int, frames: Int, size: Int, seed: UInt64) -> [Float] {
        var rng = Philox(seed: seed)
        return (0..<(videos * frames * size)).map { _ in rng.nextGaussian() }
    }

    func testExportedGraphIsWellFormed() throws {
        for (model, views) in [(Self.model(bits: 16), 1), (Self.model(bits: 20, positional: .sinusoidal), 3)] {
            let proto = model.onnxModel(views: views, pooling: .codes, metadata: ["checkpoint": "x.h5"])
            XCTAssertEqual(proto.irVersion, 8)
            XCTAssertEqual(proto.opsetImport.map(\.version), [17])
            let g = proto.graph
            XCTAssertEqual(g.input.map(\.name), ["features"])
            XCTAssertEqual(g.output.map(\.name), ["code", "packed"])
            XCTAssertEqual(
                g.output[1].type.tensorType.shape.dim.map(\.dimValue), [0, Int64((model.config.bits + 7) / 8)])
            // Topological order: every node reads graph inputs, initializers or earlier outputs.
            var defined = Set(g.input.map(\.name) + g.initializer.map(\.name))
            for node in g.node {
                for input in node.input { XCTAssertTrue(defined.contains(input), "\(node.name) reads \(input) first") }
                for output in node.output { XCTAssertTrue(defined.insert(output).inserted, "\(output) twice") }
            }
            // The weights: every encoder and hash parameter once (W as Wᵀ, QKV in three bands),
            // plus the positional table when it is fixed; no order head, no decoder.
            let weights = g.initializer.filter { t in
                [".weight_t", ".weight", ".bias", ".table"].contains { t.name.hasSuffix($0) }
            }
            let stored = weights.map { $0.rawData.count / 4 }.reduce(0, +)
            let used = model.store.layout.parameters.filter { !$0.name.hasPrefix("order_head") }.map(\.count)
                .reduce(0, +)
            let fixedTable =
                model.config.encoder.positional == .sinusoidal
                ? model.config.encoder.maxPositions
                    * model.config.encoder.modelSize : 0
            XCTAssertEqual(stored, used + fixedTable)
            let metadata = Dictionary(uniqueKeysWithValues: proto.metadataProps.map { ($0.key, $0.value) })
            XCTAssertEqual(metadata["bits"], String(model.config.bits))
            XCTAssertEqual(metadata["views"], String(views))
            XCTAssertEqual(metadata["checkpoint"], "x.h5")
            XCTAssertNoThrow(try Onnx_ModelProto(serializedBytes: try proto.serializedBytes() as [UInt8]))
        }
    }

    /// Writes the engine's codes of `features` (N × T × F) as a code file with values, the
    /// features as `feats`, and the model as ONNX; returns check-onnx's verdict.
    func check(
        _ model: CHAINModel, views: Int, pooling: CodePooling, videos: Int = 40, frames: Int, name: String
    ) throws -> String {
        let f = model.config.encoder.inputSize, bits = model.config.bits
        let x = Self.features(videos: videos, frames: frames, size: f, seed: 11)
        let e = CHAINModel.Encoding(model, maxBatch: videos, frames: frames, views: views, pooling: pooling)
        var codes = [Float](repeating: 0, count: videos * bits), values = codes
        x.withUnsafeBufferPointer { input in
            codes.withUnsafeMutableBufferPointer { c in
                values.withUnsafeMutableBufferPointer {
                    model.encode(input.baseAddress!, batch: videos, e, codes: c.baseAddress!, values: $0.baseAddress!)
                }
            }
        }
        let packed = codes.withUnsafeBufferPointer { PackedCodes(values: $0.baseAddress!, count: videos, bits: bits) }
        let base = "\(folder)/\(name)"
        let file = try HDF5File(path: base + "_feats.h5", mode: .truncate)
        try file.write("feats", values: x, shape: [videos, frames, f])
        file.close()
        try CodeFile.write(packed, values: values, to: base + "_codes.h5")
        let bytes: Data = try model.onnxModel(views: views, pooling: pooling, metadata: [:]).serializedBytes()
        try bytes.write(to: URL(fileURLWithPath: base + ".onnx"))
        return try ONNXCheck.run(model: base + ".onnx", features: base + "_feats.h5", codes: base + "_codes.h5")
    }

    func testOnnxRuntimeComputesTheEngineCodes() throws {
        try ONNXCheck.requireRuntime()
        let cases: [(String, CHAINModel, Int, CodePooling, [Int])] = [
            ("pre_learned_codes_16", Self.model(bits: 16), 1, .codes, [8, 5]),
            (
                "post_sinusoidal_activations_64",
                Self.model(bits: 64, placement: .post, positional: .sinusoidal, positionScale: 0.5), 1, .activations,
                [8, 3]
            ),
            ("shortcut_two_views_64", Self.model(bits: 64, shortcut: .pca), 2, .activations, [8, 7]),
            ("pre_learned_scaled_32", Self.model(bits: 32, positionScale: 10), 1, .codes, [8]),
            ("three_views_20_bits", Self.model(bits: 20, shortcut: .pcaFixed), 3, .codes, [8, 6]),
            ("stretched_two_views_32", Self.model(bits: 32, positionIndex: .stretched), 2, .codes, [8, 5, 3]),
            ("stretched_one_view_32", Self.model(bits: 32, positionIndex: .stretched), 1, .codes, [8]),
        ]
        for (name, model, views, pooling, frameCounts) in cases {
            for frames in frameCounts {
                let verdict = try check(
                    model, views: views, pooling: pooling, frames: frames, name: "\(name)_\(frames)")
                XCTAssertTrue(verdict.contains(" 0 bits differ"), "\(name), \(frames) frames: \(verdict)")
                print("\(name), \(frames) frames: \(verdict)", terminator: "")
            }
        }
    }
}
