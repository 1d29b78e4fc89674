/// An error raised on another rank and reported to this one by a collective that agrees on
/// failure, so that every rank stops together and none is left waiting.
public struct RemoteRankError: Error, CustomStringConvertible, Equatable {
    /// The other rank's message.
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
