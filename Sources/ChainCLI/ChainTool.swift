import ArgumentParser
import Foundation

/// A CHAIN command-line tool: ArgumentParser's entry point, except that a bad flag value is
/// reported as one line (`tool: message`) on standard error, like every other error of the
/// tools; `--help` and `--version` print in full.
public protocol ChainTool: ParsableCommand {}

extension ChainTool {
    public static func main() { runTool() }

    /// Parses `arguments` (default: the command line) and runs the command.
    public static func runTool(_ arguments: [String]? = nil) {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success || error is ExitCode { exit(withError: error) }
            let name = configuration.commandName ?? "\(Self.self)"
            FileHandle.standardError.write(Data("\(name): \(message(for: error))\n".utf8))
            Foundation.exit(code.rawValue)
        }
    }
}
