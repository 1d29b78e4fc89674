/// The element types this exporter uses (values of ONNX's TensorProto.DataType).
public enum ONNXElementType: Int, Sendable {
    case float = 1, uint8 = 2, int64 = 7
}

/// One dimension of a graph input or output: fixed, or a named size set at run time.
public enum ONNXDimension: Sendable, Equatable {
    case size(Int)
    case symbol(String)
}
