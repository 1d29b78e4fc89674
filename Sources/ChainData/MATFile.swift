import CZlib
import Foundation

/// A reader for MATLAB level-5 MAT-files (what MATLAB writes with -v6/-v7 and what
/// scipy.io.savemat writes), numeric 2-D arrays only: uncompressed and zlib-compressed
/// (miCOMPRESSED) variables, little- or big-endian; double, single, integer and logical
/// classes. Sparse, cell, struct, char and complex arrays are refused with a clear error.
/// MAT 7.3 files are HDF5 and are read through `LabelReader`.
public struct MATFile {
    /// One numeric variable: dims [rows, columns] and values in row-major order.
    public struct Variable {
        public let name: String
        public let rows: Int
        public let columns: Int
        public let values: [Double]
        public let className: String
    }

    public let path: String
    /// Variable names in file order.
    public private(set) var names: [String] = []
    private var raw: [String: (bytes: [UInt8], compressed: Bool)] = [:]
    private let bigEndian: Bool

    /// Whether the file starts like a level-5 MAT-file.
    public static func isLevel5(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        let head = (try? h.read(upToCount: 128)) ?? Data()
        return head.count == 128 && head.starts(with: Array("MATLAB 5.0".utf8))
    }

    public init(path: String) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError("\(path): cannot read file")
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 128, bytes.starts(with: Array("MATLAB 5.0".utf8)) else {
            throw DataError("\(path): not a MATLAB 5 MAT-file (no 'MATLAB 5.0' header)")
        }
        switch (bytes[126], bytes[127]) {
        case (0x49, 0x4D): bigEndian = false  // "IM"
        case (0x4D, 0x49): bigEndian = true  // "MI"
        default: throw DataError("\(path): MAT-file header has no endian indicator")
        }
        var offset = 128
        while offset + 8 <= bytes.count {
            let type = Self.u32(bytes, offset, bigEndian), size = Int(Self.u32(bytes, offset + 4, bigEndian))
            guard offset + 8 + size <= bytes.count else {
                throw DataError("\(path): truncated MAT-file (element at byte \(offset) claims \(size) bytes)")
            }
            let payload = Array(bytes[(offset + 8)..<(offset + 8 + size)])
            switch type {
            case 15:  // miCOMPRESSED: the name is inside, so inflate now.
                let inflated = try Self.inflate(payload, path: path, at: offset)
                guard inflated.count >= 8, Self.u32(inflated, 0, bigEndian) == 14 else {
                    throw DataError("\(path): compressed element at byte \(offset) does not hold a matrix")
                }
                let inner = Array(inflated[8..<min(inflated.count, 8 + Int(Self.u32(inflated, 4, bigEndian)))])
                try register(inner, at: offset)
            case 14: try register(payload, at: offset)
            default: break  // other top-level elements are not variables we read
            }
            offset += 8 + (type == 15 ? size : (size + 7) / 8 * 8)
        }
    }

    private mutating func register(_ matrix: [UInt8], at offset: Int) throws {
        var cursor = 0
        _ = try element(matrix, &cursor, offset)  // array flags
        _ = try element(matrix, &cursor, offset)  // dimensions
        let (_, nameBytes) = try element(matrix, &cursor, offset)  // name
        let name = String(decoding: nameBytes, as: UTF8.self)
        names.append(name)
        raw[name] = (matrix, false)
    }

    /// The variable called `name`.
    public func variable(_ name: String) throws -> Variable {
        guard let entry = raw[name] else {
            throw DataError(
                "\(path): no variable '\(name)' (found: \(names.isEmpty ? "none" : names.joined(separator: ", ")))")
        }
        let m = entry.bytes
        var cursor = 0
        let (_, flagBytes) = try element(m, &cursor, 0)
        guard flagBytes.count >= 4 else { throw DataError("\(path): '\(name)': malformed array flags") }
        let flagWord = Self.u32(flagBytes, 0, bigEndian)
        let classID = Int(flagWord & 0xFF), isComplex = flagWord & 0x800 != 0, isLogical = flagWord & 0x200 != 0
        let className: String
        switch classID {
        case 6: className = "double"
        case 7: className = "single"
        case 8...15:
            className =
                isLogical
                ? "logical" : ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"][classID - 8]
        case 5: throw DataError("\(path): '\(name)' is a sparse matrix; save it as a full (dense) matrix")
        case 1: throw DataError("\(path): '\(name)' is a cell array, not a numeric matrix")
        case 2: throw DataError("\(path): '\(name)' is a struct, not a numeric matrix")
        case 4: throw DataError("\(path): '\(name)' is a char array, not a numeric matrix")
        default: throw DataError("\(path): '\(name)' has unsupported MATLAB class \(classID)")
        }
        guard !isComplex else { throw DataError("\(path): '\(name)' is complex; labels must be real") }
        let (_, dimBytes) = try element(m, &cursor, 0)
        let dims = stride(from: 0, to: dimBytes.count, by: 4).map {
            Int(Int32(bitPattern: Self.u32(dimBytes, $0, bigEndian)))
        }
        guard dims.count >= 2, dims.dropFirst(2).allSatisfy({ $0 == 1 }) else {
            throw DataError("\(path): '\(name)' has dimensions \(dims); a 2-D matrix is needed")
        }
        _ = try element(m, &cursor, 0)  // name
        let (dataType, dataBytes) = try element(m, &cursor, 0)
        let columnMajor = try decode(dataBytes, type: dataType, name: name)
        let rows = dims[0], columns = dims[1]
        guard columnMajor.count == rows * columns else {
            throw DataError("\(path): '\(name)' holds \(columnMajor.count) values for \(rows)×\(columns)")
        }
        var values = [Double](repeating: 0, count: rows * columns)
        for c in 0..<columns { for r in 0..<rows { values[r * columns + c] = columnMajor[c * rows + r] } }
        return Variable(name: name, rows: rows, columns: columns, values: values, className: className)
    }

    /// Reads one (possibly small-format) data element at `cursor`, advancing past its padding.
    private func element(_ b: [UInt8], _ cursor: inout Int, _ base: Int) throws -> (type: UInt32, bytes: [UInt8]) {
        guard cursor + 8 <= b.count else {
            throw DataError("\(path): truncated matrix element near byte \(base + cursor)")
        }
        let first = Self.u32(b, cursor, bigEndian)
        if first >> 16 != 0 {  // small data element: size and type share the first word
            let size = Int(first >> 16), type = first & 0xFFFF
            guard size <= 4 else { throw DataError("\(path): malformed small data element near byte \(base + cursor)") }
            let bytes = Array(b[(cursor + 4)..<(cursor + 4 + size)])
            cursor += 8
            return (type, bytes)
        }
        let size = Int(Self.u32(b, cursor + 4, bigEndian))
        guard cursor + 8 + size <= b.count else {
            throw DataError("\(path): truncated matrix element near byte \(base + cursor)")
        }
        let bytes = Array(b[(cursor + 8)..<(cursor + 8 + size)])
        cursor += 8 + (size + 7) / 8 * 8
        return (first, bytes)
    }

    private func decode(_ b: [UInt8], type: UInt32, name: String) throws -> [Double] {
        func words<T: FixedWidthInteger>(_: T.Type) -> [T] {
            let n = MemoryLayout<T>.size
            return stride(from: 0, to: b.count - n + 1, by: n).map { i in
                var v: T = 0
                withUnsafeMutableBytes(of: &v) { for k in 0..<n { $0[k] = b[i + k] } }
                return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
            }
        }
        switch type {
        case 1: return words(Int8.self).map(Double.init)
        case 2: return b.map(Double.init)
        case 3: return words(Int16.self).map(Double.init)
        case 4: return words(UInt16.self).map(Double.init)
        case 5: return words(Int32.self).map(Double.init)
        case 6: return words(UInt32.self).map(Double.init)
        case 7: return words(UInt32.self).map { Double(Float(bitPattern: $0)) }
        case 9: return words(UInt64.self).map { Double(bitPattern: $0) }
        case 12: return words(Int64.self).map(Double.init)
        case 13: return words(UInt64.self).map(Double.init)
        default: throw DataError("\(path): '\(name)' stores its data with unsupported MAT type \(type)")
        }
    }

    static func u32(_ b: [UInt8], _ i: Int, _ bigEndian: Bool) -> UInt32 {
        let v = UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
        return bigEndian ? v.byteSwapped : v
    }

    /// zlib-inflates a whole miCOMPRESSED payload.
    static func inflate(_ input: [UInt8], path: String, at offset: Int) throws -> [UInt8] {
        var stream = z_stream()
        guard chain_inflate_init(&stream) == Z_OK else { throw DataError("\(path): zlib initialisation failed") }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: max(4096, input.count * 4))
        var produced = 0
        var status: Int32 = Z_OK
        var source = input
        try source.withUnsafeMutableBufferPointer { src in
            stream.next_in = src.baseAddress
            stream.avail_in = uInt(src.count)
            repeat {
                if produced == output.count { output += [UInt8](repeating: 0, count: output.count) }
                output.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress! + produced
                    stream.avail_out = uInt(out.count - produced)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    produced = out.count - Int(stream.avail_out)
                }
                if status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR {
                    throw DataError("\(path): corrupt compressed variable at byte \(offset) (zlib error \(status))")
                }
                if status == Z_BUF_ERROR && stream.avail_in == 0 {
                    throw DataError("\(path): compressed variable at byte \(offset) is truncated")
                }
            } while status != Z_STREAM_END
        }
        return Array(output[0..<produced])
    }
}
