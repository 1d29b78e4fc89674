/// The failures of a step that every rank ran, agreed on by all ranks (`Communicator.agree`):
/// which ranks failed, on which hosts, and why. Every rank holds the same value, so the job
/// can end cleanly (rank 0 reports, nobody aborts).
public struct RankFailures: Error, CustomStringConvertible, Equatable {
    /// One rank's failure.
    public struct Failure: Equatable, Sendable {
        public let rank: Int
        public let host: String
        public let message: String
    }

    public let failures: [Failure]
    /// The world size: failures.count < worldSize means some ranks succeeded.
    public let worldSize: Int
    /// Added to the description when only some ranks failed (why ranks may disagree).
    public let partialNote: String?

    /// Whether some ranks succeeded where these failed.
    public var isPartial: Bool { failures.count < worldSize }

    public var description: String {
        let messages = Set(failures.map(\.message))
        if !isPartial && messages.count == 1 { return failures[0].message }
        var lines = failures.map { "rank \($0.rank) on host \($0.host): \($0.message)" }
        if isPartial {
            let hosts = Set(failures.map(\.host)).sorted().joined(separator: ", ")
            lines.append(
                "(\(worldSize - failures.count) of \(worldSize) ranks succeeded; failed on \(hosts))"
                    + (partialNote.map { ". " + $0 } ?? ""))
        }
        return lines.joined(separator: "\n")
    }
}
