import Foundation
import ChainNumerics

/// How token positions are encoded.
public enum PositionalEncoding: String, Sendable, Codable, CaseIterable {
    /// Fixed sin/cos table (Vaswani et al.): PE[p, 2i] = sin(p/10000^{2i/d}), PE[p, 2i+1] = cos(·).
    case sinusoidal
    /// A trained [maxPositions, d] table θ, initialised N(0, 0.02²), used as s·θ for scale s.
    case learned
}

/// Adds a positional embedding to each token, looked up by an explicit position index per
/// token (so a token can carry its frame's original temporal index, or its slot).
///
/// The learned table enters as PE = s·θ. A scale s > 1 is a reparameterisation: PE starts at
/// N(0, (0.02·s)²) and, because Adam moves each entry of θ by about lr per step whatever its
/// gradient's size, PE moves s times as fast as the other parameters.
public struct PositionalEmbedding: Sendable {
    public let kind: PositionalEncoding
    public let maxPositions: Int
    public let size: Int
    /// s: the factor of the sinusoidal table, or of the learned table θ.
    public let scale: Float
    public let table: Parameter?
    private let fixedTable: Tensor?

    /// `scale` multiplies the sinusoidal table, or the learned table in every use (forward,
    /// backward, `tableValues`).
    public init(
        _ name: String, kind: PositionalEncoding, maxPositions: Int, size: Int, scale: Float = 1,
        layout: inout ParameterLayout
    ) {
        precondition(scale > 0, "a position scale must be positive (got \(scale))")
        self.kind = kind
        self.maxPositions = maxPositions
        self.size = size
        self.scale = scale
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

    /// The factor applied when a row is added: s for a learned table, 1 for the sinusoidal
    /// one (its stored table already holds s).
    private var learnedScale: Float { table == nil ? 1 : scale }

    /// The whole table PE [maxPositions, size], learned or fixed (what an exported model stores).
    public func tableValues(_ params: ParameterStore) -> [Float] {
        let s = learnedScale
        return UnsafeBufferPointer(start: rowPointer(params), count: maxPositions * size).map { s * $0 }
    }

    /// x[r, :] += PE[positions[r], :] for each row.
    public func forward(
        _ x: UnsafeMutablePointer<Float>, positions: UnsafePointer<Int32>, rows: Int,
        _ params: ParameterStore
    ) {
        let pe = rowPointer(params), s = learnedScale
        for r in 0..<rows {
            let p = Int(positions[r])
            precondition(p >= 0 && p < maxPositions, "position \(p) outside 0..<\(maxPositions)")
            VectorMath.addScaled(pe + p * size, by: s, into: x + r * size, count: size)  // exact at s = 1
        }
    }

    /// Accumulates the table's gradient (learned only): dθ[positions[r]] += s·dx[r].
    public func backward(
        _ dx: UnsafePointer<Float>, positions: UnsafePointer<Int32>, rows: Int,
        _ params: ParameterStore
    ) {
        guard let table else { return }
        let g = params.gradient(table), s = learnedScale
        for r in 0..<rows {
            VectorMath.addScaled(dx + r * size, by: s, into: g + Int(positions[r]) * size, count: size)
        }
    }
}
