/// A node attribute: a name and one value.
public enum ONNXAttribute: Sendable {
    case int(String, Int64)
    case ints(String, [Int64])
    case float(String, Float)

    var proto: Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        switch self {
        case let .int(name, value): a.name = name; a.type = .int; a.i = value
        case let .ints(name, values): a.name = name; a.type = .ints; a.ints = values
        case let .float(name, value): a.name = name; a.type = .float; a.f = value
        }
        return a
    }
}
