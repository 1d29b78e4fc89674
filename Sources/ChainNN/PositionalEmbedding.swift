import Foundation
import ChainNumerics

/// How token positions are encoded.
public enum PositionalEncoding: String, Sendable, Codable, CaseIterable {
    /// Fixed sin/cos table (Vaswani et al.): PE[p, 2i] = sin(p/10000^{2i/d}), PE[p, 2i+1] = cos(·).
    case sinusoidal
    /// A trained [maxPositions, d] table, initialised N(0, 0.02²).
    case learned
}

/// Adds a positional embedding to each token, looked up by an explicit position index per
/// token (so a token can carry its frame's original temporal index, or its slot).
public struct PositionalEmbedding: Sendable {
    public let kind: PositionalEncoding
    public let maxPositions: Int
    public let size: Int
    public let table: Parameter?
    private let fixedTable: Tensor?

    /// `scale` multiplies the sinusoidal table (a learned table must use 1).
    public init(
        _ name: String, kind: PositionalEncoding, maxPositions: Int, size: Int, scale: Float = 1,
        layout: inout ParameterLayout
    ) {
        precondition(scale > 0 && (kind == .sinusoidal || scale == 1), "a position scale needs the sinusoidal table")
        self.kind = kind
        self.maxPositions = maxPositions
        self.size = size
        switch kind {
        case .learned:
            table = layout.add(
                "\(name).table", shape: [maxPositions, size], initializer: .normal(std: 0.02),
                decays: false)
            fixedTable = nil
        case .sinusoidal:
            table = nil
            let t = Tensor(shape: [maxPositions, size])
            for p in 0..<maxPositions {
                for i in 0..<size {
                    let angle = Double(p) / pow(10000, Double(2 * (i / 2)) / Double(size))
                    t.pointer[p * size + i] = scale * Float(i % 2 == 0 ? sin(angle) : cos(angle))
                }
            }
            fixedTable = t
        }
    }

    private func rowPointer(_ params: ParameterStore) -> UnsafePointer<Float> {
        if let table { return UnsafePointer(params.value(table)) }
        return UnsafePointer(fixedTable!.pointer)
    }

    /// The whole table [maxPositions, size], learned or fixed (what an exported model stores).
    public func tableValues(_ params: ParameterStore) -> [Float] {
        Array(UnsafeBufferPointer(start: rowPointer(params), count: maxPositions * size))
    }

    /// x[r, :] += PE[positions[r], :] for each row.
    public func forward(
        _ x: UnsafeMutablePointer<Float>, positions: UnsafePointer<Int32>, rows: Int,
        _ params: ParameterStore
    ) {
        let pe = rowPointer(params)
        for r in 0..<rows {
            let p = Int(positions[r])
            precondition(p >= 0 && p < maxPositions, "position \(p) outside 0..<\(maxPositions)")
            VectorMath.add(pe + p * size, into: x + r * size, count: size)
        }
    }

    /// Accumulates the table's gradient (learned only): dPE[positions[r]] += dx[r].
    public func backward(
        _ dx: UnsafePointer<Float>, positions: UnsafePointer<Int32>, rows: Int,
        _ params: ParameterStore
    ) {
        guard let table else { return }
        let g = params.gradient(table)
        for r in 0..<rows { VectorMath.add(dx + r * size, into: g + Int(positions[r]) * size, count: size) }
    }
}
