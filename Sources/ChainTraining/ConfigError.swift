/// A run config (YAML file, override or command-line value) that cannot be used, with a
/// message naming the file, key and valid values.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
