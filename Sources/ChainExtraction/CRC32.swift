import CZlib
import Foundation

/// zlib's CRC-32 of bytes, a string or a file (read in 1 MiB blocks).
enum CRC32 {
    static func of(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(crc32(uLong(crc), $0.baseAddress, uInt($0.count))) }
    }

    static func of(strings: [String]) -> UInt32 {
        strings.reduce(0) { of(Array($1.utf8) + [0], continuing: $0) }
    }

    static func of(file path: String) throws -> (crc: UInt32, bytes: Int64) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ExtractionError("\(path): cannot read") }
        defer { try? handle.close() }
        var crc: UInt32 = 0, bytes: Int64 = 0
        while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty {
            crc = of(Array(block), continuing: crc)
            bytes += Int64(block.count)
        }
        return (crc, bytes)
    }
}
