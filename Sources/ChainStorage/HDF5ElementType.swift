import CHDF5

/// The element type of an HDF5 dataset, as far as this project cares.
public enum HDF5ElementType: Sendable, Equatable, CustomStringConvertible {
    case float16, float32, float64
    case uint8, int8, uint16, int16, uint32, int32, uint64, int64
    /// Anything else (strings, compounds, …), with HDF5's class name.
    case unsupported(String)

    public var description: String {
        switch self {
        case .float16: "float16"
        case .float32: "float32"
        case .float64: "float64"
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .uint32: "uint32"
        case .int32: "int32"
        case .uint64: "uint64"
        case .int64: "int64"
        case .unsupported(let s): s
        }
    }

    /// Whether values convert to float32 (all numeric types).
    public var isNumeric: Bool { if case .unsupported = self { false } else { true } }

    /// Classifies an HDF5 datatype id. Call with the library lock held.
    static func classify(_ type: hid_t) -> HDF5ElementType {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT:
            switch size {
            case 2: return .float16
            case 4: return .float32
            case 8: return .float64
            default: return .unsupported("float\(size * 8)")
            }
        case H5T_INTEGER:
            let signed = H5Tget_sign(type) == H5T_SGN_2
            switch (size, signed) {
            case (1, false): return .uint8
            case (1, true): return .int8
            case (2, false): return .uint16
            case (2, true): return .int16
            case (4, false): return .uint32
            case (4, true): return .int32
            case (8, false): return .uint64
            case (8, true): return .int64
            default: return .unsupported("int\(size * 8)")
            }
        case H5T_STRING: return .unsupported("string")
        case H5T_COMPOUND: return .unsupported("compound")
        case H5T_ENUM: return .unsupported("enum")
        default: return .unsupported("non-numeric")
        }
    }

    /// A new file datatype for this element type (caller closes it). Lock held.
    func makeFileType() -> hid_t {
        switch self {
        case .float16: return chain_h5t_make_float16()
        case .float32: return H5Tcopy(chain_h5t_ieee_f32le())
        case .float64: return H5Tcopy(chain_h5t_ieee_f64le())
        case .uint8: return H5Tcopy(chain_h5t_std_u8le())
        case .int32: return H5Tcopy(chain_h5t_std_i32le())
        case .int64: return H5Tcopy(chain_h5t_std_i64le())
        case .uint64: return H5Tcopy(chain_h5t_std_u64le())
        default: return -1
        }
    }
}
