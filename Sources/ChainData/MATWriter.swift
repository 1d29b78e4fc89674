import Foundation

/// Writes a MATLAB level-5 .mat file holding one dense double matrix, uncompressed — the
/// format scipy's `savemat` writes and MATLAB, scipy and `MATFile` read. Used for the
/// label files of generated datasets.
public enum MATWriter {
    /// `values` is row-major rows × columns (it is stored column-major, as MATLAB does).
    /// Written to a temporary name and renamed, so a failure leaves no partial file.
    public static func write(path: String, name: String, rows: Int, columns: Int, values: [Double]) throws {
        precondition(values.count == rows * columns, "MATWriter: \(values.count) values for \(rows)×\(columns)")
        precondition(!name.isEmpty && name.utf8.count <= 63, "MATWriter: variable name must have 1–63 bytes")
        var out = Data()
        var header = Array("MATLAB 5.0 MAT-file, written by CHAIN".utf8)
        header += [UInt8](repeating: 0x20, count: 116 - header.count)
        out.append(contentsOf: header)
        out.append(contentsOf: [UInt8](repeating: 0, count: 8))  // no subsystem data
        append(&out, UInt16(0x0100))  // version
        out.append(contentsOf: Array("IM".utf8))  // little-endian marker

        var body = Data()
        element(&body, type: 6, payload: bytes(UInt32(6)) + bytes(UInt32(0)))  // array flags: mxDOUBLE_CLASS
        element(&body, type: 5, payload: bytes(Int32(rows)) + bytes(Int32(columns)))  // dimensions
        element(&body, type: 1, payload: Data(name.utf8))  // array name (miINT8)
        var real = Data(capacity: values.count * 8)
        for c in 0..<columns { for r in 0..<rows { real += bytes(values[r * columns + c].bitPattern) } }
        element(&body, type: 9, payload: real)  // miDOUBLE
        element(&out, type: 14, payload: body)  // miMATRIX

        let temporary = path + ".partial"
        guard FileManager.default.createFile(atPath: temporary, contents: out) else {
            throw DataError("\(path): cannot write (folder missing or not writable?)")
        }
        do {
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw DataError("\(path): cannot write: \(error)")
        }
    }

    private static func bytes<T: FixedWidthInteger>(_ v: T) -> Data { withUnsafeBytes(of: v.littleEndian) { Data($0) } }
    private static func append<T: FixedWidthInteger>(_ d: inout Data, _ v: T) { d += bytes(v) }

    /// A tagged data element, padded to a multiple of 8 bytes.
    private static func element(_ d: inout Data, type: UInt32, payload: Data) {
        append(&d, type)
        append(&d, UInt32(payload.count))
        d += payload
        let pad = (8 - payload.count % 8) % 8
        if pad > 0 { d += Data(count: pad) }
    }
}
