/// A failed HDF5 operation, with a message naming the file and the object involved.
public struct HDF5Error: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
