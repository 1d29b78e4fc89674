import Foundation

/// An ONNX graph under construction: nodes in the order they are added (which ONNX requires
/// to be a topological order: the builders add a node only after the values it reads),
/// constant tensors (initializers) and the graph's typed inputs and outputs.
///
/// Every value is named by the caller's scope plus what it is ("encoder.blocks.0.attn.scores"),
/// so a graph viewer (Netron) shows the model's own structure.
public struct ONNXGraph {
    /// The graph's protobuf message, as built so far.
    public private(set) var proto = Onnx_GraphProto()
    private var names: Set<String> = []

    public init(name: String, doc: String) {
        proto.name = name
        proto.docString = doc
    }

    /// A graph input: a tensor with fixed (`.size`) or named (`.symbol`) dimensions.
    public mutating func input(
        _ name: String, elementType: ONNXElementType, shape: [ONNXDimension], doc: String
    ) -> String {
        proto.input.append(Self.valueInfo(unique(name), elementType, shape, doc))
        return name
    }

    /// Makes `value` a graph output called `name` (through an Identity node when named otherwise).
    public mutating func output(
        _ value: String, as name: String, elementType: ONNXElementType, shape: [ONNXDimension], doc: String
    ) {
        if value != name { _ = node("Identity", [value], output: name) }
        proto.output.append(Self.valueInfo(name, elementType, shape, doc))
    }

    /// A float32 constant of `shape` (row-major).
    public mutating func constant(_ name: String, floats: [Float], shape: [Int]) -> String {
        initializer(name, floats, .float, shape)
    }

    /// An int64 constant of `shape` (a scalar when `shape` is empty).
    public mutating func constant(_ name: String, int64s: [Int64], shape: [Int]) -> String {
        initializer(name, int64s, .int64, shape)
    }

    /// Stores `values` as the raw bytes ONNX reads little-endian (the byte order of every host
    /// this engine builds for: x86-64 and arm64).
    private mutating func initializer<Element>(
        _ name: String, _ values: [Element], _ type: ONNXElementType, _ shape: [Int]
    ) -> String {
        precondition(values.count == shape.reduce(1, *), "\(name): \(values.count) values for shape \(shape)")
        var t = Onnx_TensorProto()
        t.name = unique(name)
        t.dataType = Int32(type.rawValue)
        t.dims = shape.map(Int64.init)
        t.rawData = values.withUnsafeBufferPointer { Data(buffer: $0) }
        proto.initializer.append(t)
        return t.name
    }

    /// A float32 scalar constant.
    public mutating func scalar(_ name: String, _ value: Float) -> String {
        constant(name, floats: [value], shape: [])
    }

    /// Appends one node of a standard operator (default domain) and returns its output's name.
    @discardableResult
    public mutating func node(
        _ op: String, _ inputs: [String], _ attributes: [ONNXAttribute] = [], output: String
    ) -> String {
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = inputs
        n.output = [unique(output)]
        n.name = output
        n.attribute = attributes.map(\.proto)
        proto.node.append(n)
        return output
    }

    private mutating func unique(_ name: String) -> String {
        precondition(names.insert(name).inserted, "ONNX value \(name) is defined twice")
        return name
    }

    private static func valueInfo(
        _ name: String, _ elementType: ONNXElementType, _ shape: [ONNXDimension], _ doc: String
    ) -> Onnx_ValueInfoProto {
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.docString = doc
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(elementType.rawValue)
        tensor.shape.dim = shape.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            switch d {
            case .size(let n): dim.dimValue = Int64(n)
            case .symbol(let s): dim.dimParam = s
            }
            return dim
        }
        info.type.tensorType = tensor
        return info
    }
}
