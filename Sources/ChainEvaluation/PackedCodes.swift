/// Binary codes packed 8 per byte, most significant bit first, bit set for a positive code
/// value: exactly `numpy.packbits(codes > 0, axis=1)`, the layout faiss binary indexes use.
public struct PackedCodes: Sendable, Equatable {
    public let count: Int
    public let bits: Int
    public let bytesPerCode: Int
    /// count × bytesPerCode bytes; the padding bits of a last partial byte are zero.
    public let bytes: [UInt8]

    public init(count: Int, bits: Int, bytes: [UInt8]) {
        precondition(
            bits > 0 && bytes.count == count * ((bits + 7) / 8),
            "packed codes: \(bytes.count) bytes for \(count) × \(bits) bits")
        self.count = count
        self.bits = bits
        bytesPerCode = (bits + 7) / 8
        self.bytes = bytes
    }

    /// Packs real-valued codes [count, bits] (row-major): bit = value > 0.
    public init(values: UnsafePointer<Float>, count: Int, bits: Int) {
        let perCode = (bits + 7) / 8
        var out = [UInt8](repeating: 0, count: count * perCode)
        for i in 0..<count {
            for b in 0..<bits where values[i * bits + b] > 0 { out[i * perCode + b / 8] |= 0x80 >> UInt8(b % 8) }
        }
        self.init(count: count, bits: bits, bytes: out)
    }

    /// Code i as ±1 values.
    public func signs(_ i: Int) -> [Float] {
        (0..<bits).map { b in bytes[i * bytesPerCode + b / 8] & (0x80 >> UInt8(b % 8)) != 0 ? 1 : -1 }
    }

    /// The codes as 64-bit words for popcount (zero-padded), `words` per code.
    func wordLayout() -> (words: Int, data: [UInt64]) {
        let words = (bytesPerCode + 7) / 8
        var data = [UInt64](repeating: 0, count: count * words)
        for i in 0..<count {
            for k in 0..<bytesPerCode {
                data[i * words + k / 8] |= UInt64(bytes[i * bytesPerCode + k]) << UInt64(8 * (k % 8))
            }
        }
        return (words, data)
    }
}
