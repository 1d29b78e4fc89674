import ChainModel
import ChainNN

/// The ONNX file format this exporter writes: IR version 8 with operator set 17 of the default
/// domain (the first with LayerNormalization), which onnxruntime ≥ 1.12 runs.
public enum ONNXFormat {
    public static let irVersion: Int64 = 8
    public static let opset: Int64 = 17
}

extension CHAINModel {
    /// The trained hash function as an ONNX model: what `CHAINModel.encode` computes for
    /// `Encoding(views:pooling:)`, in standard operators of `ONNXFormat.opset`.
    ///
    ///     input   features  float32 (videos, frames, F)   frames ≤ max_positions, ≥ views
    ///     output  code      float32 (videos, bits)        the mean over the video's frames of
    ///                                                     sign(h) (pooling codes) or h (activations)
    ///     output  packed    uint8   (videos, ⌈bits/8⌉)    code ≥ 0 as bits, most significant first
    ///                                                     (numpy.packbits(code >= 0, axis=1))
    ///
    /// `packed` is byte for byte what `chain-encode` writes. Dropout, the order head and
    /// decoders are training-only and left out.
    public func onnxModel(views: Int, pooling: CodePooling, metadata: [String: String]) -> Onnx_ModelProto {
        precondition(views >= 1, "views must be ≥ 1")
        let f = config.encoder.inputSize, bits = config.bits
        var g = ONNXGraph(
            name: "chain_hash",
            doc: "CHAIN hash function: frame features (videos, frames, \(f)) to \(bits)-bit video codes")
        let features = g.input(
            "features", elementType: .float, shape: [.symbol("videos"), .symbol("frames"), .size(f)],
            doc: "per-frame CNN features of each video")
        let (frames, positions) = g.sequences(
            of: features, views: views, featureSize: f, positionIndex: config.positionIndex)
        let hidden = g.encoder(frames, positions: positions, encoder, store, name: "encoder")
        let h = g.hashValues(hidden, input: frames, hash, store, name: "hash")
        let perFrame: String
        switch pooling {
        case .codes:
            // sign with sign(0) = +1, as the engine (ONNX's Sign maps 0 to 0).
            let negative = g.node("Less", [h, g.scalar("hash.zero", 0)], output: "hash.negative")
            perFrame = g.node(
                "Where", [negative, g.scalar("hash.minus_one", -1), g.scalar("hash.plus_one", 1)],
                output: "frame_codes")
        case .activations:
            perFrame = h
        }
        let code = g.node(
            "ReduceMean", [perFrame], [.ints("axes", [1, 2]), .int("keepdims", 0)], output: "video_code")
        g.output(
            code, as: "code", elementType: .float, shape: [.symbol("videos"), .size(bits)],
            doc: "real-valued video code; its sign is the binary code")
        g.output(
            g.packedBits(code, bits: bits), as: "packed", elementType: .uint8,
            shape: [.symbol("videos"), .size((bits + 7) / 8)],
            doc: "binary code, code >= 0 packed most significant bit first (numpy.packbits)")

        var model = Onnx_ModelProto()
        model.irVersion = ONNXFormat.irVersion
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = ONNXFormat.opset
        model.opsetImport = [opset]
        model.producerName = "chain-export"
        model.docString = g.proto.docString
        model.graph = g.proto
        var entries = metadata
        entries["bits"] = String(bits)
        entries["feature_size"] = String(f)
        entries["max_positions"] = String(config.encoder.maxPositions)
        entries["views"] = String(views)
        entries["pooling"] = pooling.rawValue
        model.metadataProps = entries.sorted { $0.key < $1.key }.map { key, value in
            var e = Onnx_StringStringEntryProto()
            e.key = key
            e.value = value
            return e
        }
        return model
    }
}

extension ONNXGraph {
    /// The video's frames as k interleaved sequences, (N, k, L, F) with L = ⌊T/k⌋ (frames
    /// j, j+k, j+2k, … for j < k; the last T − k·L frames are not read), and each frame's
    /// position in the video, (k, L) int64 — as `CHAINModel.Encoding(views:)`. With
    /// `PositionIndex.stretched` (and k > 1) every sequence's i-th frame sits at
    /// round(i·(T−1)/(L−1)) instead of i·k + j: each interleaved sequence spans the video.
    mutating func sequences(
        of features: String, views k: Int, featureSize f: Int, positionIndex: PositionIndex
    ) -> (String, String) {
        let shape = node("Shape", [features], output: "input.shape")
        let frames = node("Gather", [shape, constant("input.frame_axis", int64s: [1], shape: [])], output: "input.T")
        let zero = constant("input.zero", int64s: [0], shape: []), one = constant("input.one", int64s: [1], shape: [])
        let axis1 = constant("input.axis1", int64s: [1], shape: [1])
        if k == 1 {
            let x = node("Unsqueeze", [features, axis1], output: "input.sequences")
            let range = node("Range", [zero, frames, one], output: "input.frame_index")
            let positions = node(
                "Unsqueeze", [range, constant("input.axis0", int64s: [0], shape: [1])], output: "input.positions")
            return (x, positions)
        }
        let views = constant("input.views", int64s: [Int64(k)], shape: [])
        let length = node("Div", [frames, views], output: "input.L")
        let used = node("Mul", [length, views], output: "input.frames_read")
        let lengthVector = node(
            "Unsqueeze", [length, constant("input.axis0", int64s: [0], shape: [1])], output: "input.L_vector")
        let usedVector = node(
            "Reshape", [used, constant("input.vector", int64s: [1], shape: [1])],
            output: "input.frames_read_vector")
        let read = node(
            "Slice", [features, constant("input.start", int64s: [0], shape: [1]), usedVector, axis1],
            output: "input.read")
        let byFrameShape = node(
            "Concat",
            [
                constant("input.keep_videos", int64s: [0], shape: [1]), lengthVector,
                constant("input.views_and_features", int64s: [Int64(k), Int64(f)], shape: [2]),
            ],
            [.int("axis", 0)], output: "input.by_view_shape")
        let byFrame = node("Reshape", [read, byFrameShape], output: "input.by_frame")  // (N, L, k, F)
        let x = node("Transpose", [byFrame], [.ints("perm", [0, 2, 1, 3])], output: "input.sequences")
        if positionIndex == .stretched {
            return (x, stretchedPositions(frames: frames, length: length, views: k, zero: zero, one: one))
        }
        let index = node("Range", [zero, used, one], output: "input.frame_index")
        let indexShape = node(
            "Concat", [lengthVector, constant("input.views_vector", int64s: [Int64(k)], shape: [1])],
            [.int("axis", 0)], output: "input.index_shape")
        let grid = node("Reshape", [index, indexShape], output: "input.index_grid")  // (L, k): i·k + j
        let positions = node("Transpose", [grid], [.ints("perm", [1, 0])], output: "input.positions")
        return (x, positions)
    }

    /// (k, L) int64: round(i·(T−1)/(L−1)) for every row, in integers as `PositionIndex`:
    /// ⌊(2i(T−1) + L−1) / max(1, 2(L−1))⌋ (0 when L = 1).
    mutating func stretchedPositions(
        frames: String, length: String, views k: Int, zero: String, one: String
    ) -> String {
        let two = constant("stretch.two", int64s: [2], shape: [])
        let i = node("Range", [zero, length, one], output: "stretch.i")
        let last = node("Sub", [frames, one], output: "stretch.T_minus_1")
        let gaps = node("Sub", [length, one], output: "stretch.L_minus_1")
        let doubled = node("Mul", [i, two], output: "stretch.2i")
        let scaled = node("Mul", [doubled, last], output: "stretch.2i_T_minus_1")
        let numerator = node("Add", [scaled, gaps], output: "stretch.numerator")
        let doubledGaps = node("Mul", [gaps, two], output: "stretch.2_L_minus_1")
        let denominator = node("Max", [doubledGaps, one], output: "stretch.denominator")
        let row = node("Div", [numerator, denominator], output: "stretch.row")  // (L)
        let views = constant("stretch.views_vector", int64s: [Int64(k)], shape: [1])
        let lengthVector = node(
            "Unsqueeze", [length, constant("stretch.axis0", int64s: [0], shape: [1])], output: "stretch.L_vector")
        let shape = node("Concat", [views, lengthVector], [.int("axis", 0)], output: "stretch.shape")
        return node("Expand", [row, shape], output: "input.positions")
    }

    /// code (N, bits) ≥ 0 as bits packed most significant first into (N, ⌈bits/8⌉) uint8:
    /// a byte is Σ_j bit_j · 2^(7−j), summed exactly in float32 and cast.
    mutating func packedBits(_ code: String, bits: Int) -> String {
        let bytes = (bits + 7) / 8
        let set = node("GreaterOrEqual", [code, scalar("pack.zero", 0)], output: "pack.set")
        var ones = node("Cast", [set], [.int("to", Int64(ONNXElementType.float.rawValue))], output: "pack.bits")
        if bytes * 8 != bits {
            let pads = constant("pack.pads", int64s: [0, 0, 0, Int64(bytes * 8 - bits)], shape: [4])
            ones = node("Pad", [ones, pads], output: "pack.padded")
        }
        let grouped = node(
            "Reshape", [ones, constant("pack.byte_shape", int64s: [0, Int64(bytes), 8], shape: [3])],
            output: "pack.grouped")
        let weights = constant("pack.place_values", floats: (0..<8).map { Float(1 << (7 - $0)) }, shape: [8])
        let weighted = node("Mul", [grouped, weights], output: "pack.weighted")
        let sums = node(
            "ReduceSum", [weighted, constant("pack.byte_axis", int64s: [2], shape: [1])], [.int("keepdims", 0)],
            output: "pack.byte_values")
        return node("Cast", [sums], [.int("to", Int64(ONNXElementType.uint8.rawValue))], output: "pack.bytes")
    }
}
