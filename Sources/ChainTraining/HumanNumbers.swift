import Foundation
import Yams

/// Numbers in YAML as people write them. Yams writes every Double in scientific form
/// (`1e-1`, `1e-3`, `1e+0`); config.yaml, the start-up print and checkpoints' stored config
/// use `0.1`, `0.001`, `1` instead: integral values without a fraction, others in Swift's
/// shortest round-trip form (exponent only below 1e-4, as `5e-5`). Every value parses back
/// to the same Double, and a Double-typed key accepts an integer (`RunConfig.checkType`).
enum HumanNumbers {
    /// One number's text: `1` for 1.0, `0.001` for 1e-3, `5e-5` for 5e-5.
    static func text(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        let shortest = "\(value)"  // "0.001", "1e-05", "1.5e+20"
        guard let e = shortest.firstIndex(of: "e") else { return shortest }
        let exponent = Int(shortest[shortest.index(after: e)...]) ?? 0
        return shortest[..<e] + "e\(exponent)"
    }

    /// The YAML of `value` (Yams's order and layout) with every number written by `text(_:)`.
    /// Yams writes Doubles with 15 significant digits, so the exact values come from
    /// JSONEncoder, which writes the shortest text that reads back to the same Double.
    static func yaml<T: Encodable>(_ value: T) throws -> String {
        let layout = try YAMLEncoder().encode(value)
        guard let root = try Yams.compose(yaml: layout) else { return layout }
        let exact = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value))
        return try Yams.serialize(node: rewrite(root, exact: exact))
    }

    /// `node` with each plain scalar in Yams's scientific form replaced by the text of the
    /// number at the same place in `exact` (the JSON tree). Quoted scalars (strings that look
    /// like numbers) are left alone.
    static func rewrite(_ node: Node, exact: Any?) -> Node {
        switch node {
        case .scalar(var scalar):
            if scalar.style == .plain, isScientific(scalar.string),
                let value = (exact as? NSNumber)?.doubleValue ?? Double(scalar.string)
            {
                scalar.string = text(value)
            }
            return .scalar(scalar)
        case .mapping(let mapping):
            let values = exact as? [String: Any]
            return .mapping(
                .init(
                    mapping.map { ($0.key, rewrite($0.value, exact: $0.key.string.flatMap { values?[$0] })) },
                    mapping.tag, mapping.style))
        case .sequence(let sequence):
            let items = exact as? [Any]
            return .sequence(
                .init(
                    sequence.enumerated().map { i, item in
                        rewrite(item, exact: items.flatMap { i < $0.count ? $0[i] : nil })
                    },
                    sequence.tag, sequence.style))
        case .alias:
            return node
        }
    }

    /// Yams's form for a Double: a mantissa, `e`, a signed exponent (`5e-1`, `1.5e+20`), or
    /// the special values, which stay as they are.
    static func isScientific(_ text: String) -> Bool {
        text.range(of: #"^-?[0-9]+(\.[0-9]+)?e[-+][0-9]+$"#, options: .regularExpression) != nil
    }
}
