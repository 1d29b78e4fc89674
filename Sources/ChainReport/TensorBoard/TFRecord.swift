import Foundation

/// TFRecord framing, the container of TensorBoard event files. Each record is
///
///     uint64 length (little-endian) · uint32 masked CRC-32C of those 8 bytes
///     length bytes of data          · uint32 masked CRC-32C of the data
public enum TFRecord {
    /// One record around `data`.
    public static func frame(_ data: Data) -> Data {
        var out = Data(capacity: data.count + 16)
        let length = withUnsafeBytes(of: UInt64(data.count).littleEndian) { Data($0) }
        out.append(length)
        out.append(littleEndian(CRC32C.masked(length)))
        out.append(data)
        out.append(littleEndian(CRC32C.masked(data)))
        return out
    }

    /// The records of `data`, each checked against both of its CRCs. `source` names the file
    /// in errors, which give the record's byte offset.
    public static func records(in data: Data, source: String) throws -> [Data] {
        var records: [Data] = []
        var offset = data.startIndex
        func uint(_ size: Int, at position: Int) -> UInt64 {
            data[position..<position + size].reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }
        while offset < data.endIndex {
            guard data.endIndex - offset >= 12 else {
                throw TFRecordError("\(source): truncated record header at byte \(offset - data.startIndex)")
            }
            let lengthBytes = data[offset..<offset + 8]
            guard UInt32(uint(4, at: offset + 8)) == CRC32C.masked(lengthBytes) else {
                throw TFRecordError("\(source): bad length CRC at byte \(offset - data.startIndex)")
            }
            let length = Int(uint(8, at: offset))
            let start = offset + 12
            guard length >= 0, data.endIndex - start >= length + 4 else {
                throw TFRecordError("\(source): truncated record at byte \(offset - data.startIndex)")
            }
            let body = data[start..<start + length]
            guard UInt32(uint(4, at: start + length)) == CRC32C.masked(body) else {
                throw TFRecordError("\(source): bad data CRC in the record at byte \(offset - data.startIndex)")
            }
            records.append(Data(body))
            offset = start + length + 4
        }
        return records
    }

    static func littleEndian(_ value: UInt32) -> Data { withUnsafeBytes(of: value.littleEndian) { Data($0) } }
}

/// A damaged or truncated TFRecord file, with the file and byte offset.
public struct TFRecordError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
