/// A dense multi-hot label matrix: `rows` items × `classes`, each entry 0 or 1. Two items
/// are relevant to each other when their rows share a 1.
public struct LabelMatrix: Sendable, Equatable {
    public let rows: Int
    public let classes: Int
    /// Row-major 0/1 entries.
    public let values: [UInt8]

    public init(rows: Int, classes: Int, values: [UInt8]) {
        precondition(values.count == rows * classes, "label matrix: \(values.count) values for \(rows)×\(classes)")
        self.rows = rows
        self.classes = classes
        self.values = values
    }

    /// Item i's labels.
    public func row(_ i: Int) -> ArraySlice<UInt8> { values[(i * classes)..<((i + 1) * classes)] }

    /// Each row's first class (0 for a row with none): one class per item for the code map.
    public var firstClasses: [Int] {
        (0..<rows).map { i in row(i).firstIndex { $0 != 0 }.map { $0 - i * classes } ?? 0 }
    }

    /// Whether items i of self and j of `other` share a class.
    public func shares(_ i: Int, with other: LabelMatrix, _ j: Int) -> Bool {
        for c in 0..<classes where values[i * classes + c] != 0 && other.values[j * classes + c] != 0 { return true }
        return false
    }

    /// Each row as a bitset of 64-bit words (class c is bit c % 64 of word c / 64).
    /// Each row's class when every row has exactly one label (single-label data), else nil.
    public func singleClasses() -> [Int32]? {
        var out = [Int32](repeating: 0, count: rows)
        for i in 0..<rows {
            var found = -1
            for c in 0..<classes where values[i * classes + c] != 0 {
                if found >= 0 { return nil }
                found = c
            }
            if found < 0 { return nil }
            out[i] = Int32(found)
        }
        return out
    }

    public func bitsets() -> (words: Int, bits: [UInt64]) {
        let words = (classes + 63) / 64
        var bits = [UInt64](repeating: 0, count: rows * words)
        for i in 0..<rows {
            for c in 0..<classes where values[i * classes + c] != 0 { bits[i * words + c / 64] |= 1 << UInt64(c % 64) }
        }
        return (words, bits)
    }
}
