import ArgumentParser
import Foundation

/// The K values of mAP@K and precision/recall@K: comma-separated positive integers
/// (`--topk 5,20,100`).
public struct TopKList: ExpressibleByArgument, Sendable, Equatable {
    public var values: [Int]

    public init(_ values: [Int]) { self.values = values }

    public init?(argument: String) {
        guard let parsed = try? Self.parse(argument) else { return nil }
        self = parsed
    }

    /// Parses "5,10,20", naming the flag in the error (`@Option(transform: TopKList.parse)`).
    public static func parse(_ text: String) throws -> TopKList {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        let ks = parts.compactMap { Int($0) }
        guard !text.isEmpty, ks.count == parts.count, ks.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--topk must be comma-separated positive integers (got '\(text)')")
        }
        return TopKList(ks)
    }

    public var defaultValueDescription: String { values.map(String.init).joined(separator: ",") }
}
