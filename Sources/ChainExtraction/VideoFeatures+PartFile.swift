import Foundation

/// One row's result on disk, in the work folder: written to a temporary name and renamed, so
/// a part file that exists is complete. Little-endian binary: magic `CHAINPT1`, then row,
/// source bytes, source mtime, decoded frames, duration, T, F, A, the failure text
/// (length-prefixed UTF-8, empty when usable) and the float32 values.
extension VideoFeatures {
    static let magic = Array("CHAINPT1".utf8)

    public func writePart(to path: String) throws {
        var data = Data(Self.magic)
        func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
        }
        append(Int64(row))
        append(source.bytes)
        append(source.modified.bitPattern)
        append(decodedFrames)
        append(durationSeconds.bitPattern)
        append(Int64(frames))
        append(Int64(featureSize))
        append(Int64(copies))
        let reason = Array((failure ?? "").utf8)
        append(Int64(reason.count))
        data.append(contentsOf: reason)
        values.withUnsafeBytes { data.append(contentsOf: $0) }
        let temporary = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        do {
            try data.write(to: URL(fileURLWithPath: temporary))
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw ExtractionError("\(path): cannot write the part file (\(error.localizedDescription))")
        }
    }

    /// Reads a part file; with `values: false` only its header (for status and resume checks).
    public static func readPart(from path: String, values readValues: Bool = true) throws -> VideoFeatures {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ExtractionError("\(path): cannot read the part file")
        }
        defer { try? handle.close() }
        var data = (try? handle.read(upToCount: 65536)) ?? Data()
        var offset = magic.count
        guard data.count >= offset, Array(data.prefix(offset)) == magic else {
            throw ExtractionError("\(path): not a chain-extract part file")
        }
        func next() throws -> Int64 {
            guard offset + 8 <= data.count else { throw ExtractionError("\(path): part file truncated") }
            var value: Int64 = 0
            withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: data[offset..<offset + 8]) }
            offset += 8
            return Int64(littleEndian: value)
        }
        let row = Int(try next()), bytes = try next()
        let modified = Double(bitPattern: UInt64(bitPattern: try next()))
        let decoded = try next(), duration = Double(bitPattern: UInt64(bitPattern: try next()))
        let frames = Int(try next()), featureSize = Int(try next()), copies = Int(try next())
        let reasonLength = Int(try next())
        guard reasonLength >= 0, offset + reasonLength <= data.count else {
            throw ExtractionError("\(path): part file truncated")
        }
        let reason = String(decoding: data[offset..<offset + reasonLength], as: UTF8.self)
        offset += reasonLength
        let count = (1 + copies) * frames * featureSize
        guard readValues else {
            return VideoFeatures(
                row: row, source: Source(bytes: bytes, modified: modified), failure: reason.isEmpty ? nil : reason,
                decodedFrames: decoded, durationSeconds: duration, frames: frames, featureSize: featureSize,
                copies: copies, values: [])
        }
        data += (try? handle.readToEnd()) ?? Data()
        guard frames >= 0, featureSize >= 0, copies >= 0, data.count - offset == count * 4 else {
            throw ExtractionError("\(path): part file has \(data.count - offset) value bytes, expected \(count * 4)")
        }
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBytes { $0.copyBytes(from: data[offset...]) }
        return VideoFeatures(
            row: row, source: Source(bytes: bytes, modified: modified), failure: reason.isEmpty ? nil : reason,
            decodedFrames: decoded, durationSeconds: duration, frames: frames, featureSize: featureSize,
            copies: copies, values: values)
    }
}
