import ChainData
import ChainStorage
import Foundation

/// Binary codes on disk: an HDF5 file with dataset `codes`, uint8, shape (N, ⌈bits/8⌉),
/// packed most-significant bit first (exactly `numpy.packbits(codes > 0, axis=1)`, the layout
/// faiss binary indexes use), and an integer attribute `bits` on the dataset. Optionally a
/// dataset `values`, float32 (N, bits): the real-valued codes whose signs the bits are.
public enum CodeFile {
    /// Writes atomically (temporary name, then rename): a failure leaves no file. `values`,
    /// when given, holds codes.count × codes.bits floats.
    public static func write(
        _ codes: PackedCodes, values: [Float]? = nil, to path: String, attributes: [String: String] = [:]
    ) throws {
        precondition(values.map { $0.count == codes.count * codes.bits } ?? true, "values must be N × bits")
        let temporary = path + ".partial"
        do {
            let file = try HDF5File(path: temporary, mode: .truncate)
            let d = try file.createDataset("codes", shape: [codes.count, codes.bytesPerCode], type: .uint8)
            if codes.count > 0 {
                try codes.bytes.withUnsafeBufferPointer {
                    try d.writeBytes(start: [0, 0], count: [codes.count, codes.bytesPerCode], from: $0.baseAddress!)
                }
            }
            try d.attributes.set("bits", Int64(codes.bits))
            if let values {
                let v = try file.createDataset("values", shape: [codes.count, codes.bits], type: .float32)
                if codes.count > 0 {
                    try values.withUnsafeBufferPointer {
                        try v.write(start: [0, 0], count: [codes.count, codes.bits], from: $0.baseAddress!)
                    }
                }
            }
            for (k, v) in attributes.sorted(by: { $0.key < $1.key }) { try file.attributes.set(k, v) }
            try file.flush()
            file.close()
            if rename(temporary, path) != 0 { throw DataError("\(path): cannot rename into place (errno \(errno))") }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw DataError("\(path): cannot write codes: \(error)")
        }
    }

    /// Reads and checks a code file; errors name the file and what is wrong.
    public static func read(path: String) throws -> PackedCodes {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError("\(path): no such file") }
        let file: HDF5File
        do { file = try HDF5File(path: path) } catch { throw DataError("\(path): not an HDF5 file (or unreadable)") }
        let d: HDF5Dataset
        do { d = try file.dataset("codes") } catch { throw DataError("\(error)") }
        guard d.shape.count == 2 else {
            throw DataError("\(path): 'codes' has shape \(d.shape); expected (videos, bytes per code)")
        }
        guard d.elementType == .uint8 else {
            throw DataError("\(path): 'codes' has element type \(d.elementType); expected uint8 (packed bits)")
        }
        guard d.attributes.contains("bits") else {
            throw DataError(
                "\(path): 'codes' has no 'bits' attribute (the code length cannot be told from the byte count)")
        }
        let bits = Int(try d.attributes.integer("bits"))
        guard bits > 0, (bits + 7) / 8 == d.shape[1] else {
            throw DataError("\(path): 'bits' = \(bits) does not fit \(d.shape[1]) bytes per code")
        }
        let bytes: [UInt8]
        do { bytes = d.shape[0] > 0 ? try d.readBytes() : [] } catch {
            throw DataError("\(path): cannot read 'codes': \(error)")
        }
        return PackedCodes(count: d.shape[0], bits: bits, bytes: bytes)
    }
}
