import Foundation
import XCTest

/// The repository's source style that a reviewer would otherwise check by eye: lines of at
/// most 120 characters in every Swift, C, C++ and header file (`launch/format` applies the
/// project's swift-format configuration, which keeps them there). Generated code
/// (`Sources/*/Generated/`, from launch/generate-protos) is the generator's.
final class SourceStyleTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardizedFileURL

    func testSourceLinesFitIn120Characters() throws {
        var files = [Self.root.appendingPathComponent("Package.swift")]
        for folder in ["Sources", "Tests"] {
            let base = Self.root.appendingPathComponent(folder)
            let walker = try XCTUnwrap(FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil))
            for case let url as URL in walker
            where ["swift", "c", "cpp", "h"].contains(url.pathExtension) && !url.path.contains("/Generated/") {
                files.append(url)
            }
        }
        XCTAssertGreaterThan(files.count, 100, "the walk found the sources")
        var long: [String] = []
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where line.count > 120 {
                long.append(
                    "\(file.path.replacingOccurrences(of: Self.root.path + "/", with: "")):\(i + 1) (\(line.count))")
            }
        }
        XCTAssertEqual(long, [], "lines over 120 characters")
    }
}
