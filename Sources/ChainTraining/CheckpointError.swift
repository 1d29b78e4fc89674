/// A checkpoint that cannot be read, verified or resumed from, with a message naming the file
/// and what differs.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
