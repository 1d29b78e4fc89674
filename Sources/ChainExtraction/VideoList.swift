import Foundation

/// The videos of one extraction, in row order, and (from UCF101-style class folders) their
/// class names.
///
/// `--videos` is a folder (searched recursively; rows in sorted relative-path order, byte
/// order), a text file of paths (one per line, rows in the file's order; relative paths are
/// relative to the list's folder; blank lines and lines starting with `#` are skipped) or a
/// single video file. A path that does not exist is an error naming the list and its line.
public struct VideoList: Sendable, Equatable {
    /// One row: the file and, with class folders, its class (the first folder below the root).
    public struct Entry: Sendable, Equatable {
        public var path: String
        public var className: String?
    }

    public var entries: [Entry]

    /// File name endings taken as videos when a folder is searched.
    public static let videoExtensions: Set<String> = [
        "mp4", "m4v", "mov", "avi", "mkv", "webm", "mpg", "mpeg", "flv", "wmv", "3gp", "ogv", "ts",
    ]

    public init(entries: [Entry]) { self.entries = entries }

    /// Resolves `--videos`.
    public static func resolve(_ argument: String) throws -> VideoList {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: argument, isDirectory: &isFolder) else {
            throw ExtractionError("--videos \(argument): no such file or folder")
        }
        if isFolder.boolValue { return try folder(argument) }
        let ending = (argument as NSString).pathExtension.lowercased()
        if videoExtensions.contains(ending) { return VideoList(entries: [Entry(path: argument, className: nil)]) }
        return try listFile(argument)
    }

    static func folder(_ root: String) throws -> VideoList {
        let rootURL = URL(fileURLWithPath: root).standardizedFileURL
        guard let walker = FileManager.default.enumerator(atPath: rootURL.path) else {
            throw ExtractionError("--videos \(root): cannot list the folder")
        }
        var relative: [String] = []
        while let item = walker.nextObject() as? String {
            let ending = (item as NSString).pathExtension.lowercased()
            guard videoExtensions.contains(ending) else { continue }
            var isFolder: ObjCBool = false
            let full = rootURL.appendingPathComponent(item).path
            if FileManager.default.fileExists(atPath: full, isDirectory: &isFolder), !isFolder.boolValue {
                relative.append(item)
            }
        }
        guard !relative.isEmpty else {
            throw ExtractionError(
                "--videos \(root): no video files (endings: \(videoExtensions.sorted().joined(separator: ", ")))")
        }
        relative.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return VideoList(
            entries: relative.map { item in
                let parts = item.split(separator: "/")
                return Entry(
                    path: rootURL.appendingPathComponent(item).path,
                    className: parts.count > 1 ? String(parts[0]) : nil)
            })
    }

    static func listFile(_ path: String) throws -> VideoList {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ExtractionError("--videos \(path): not a video (by its ending) and not a readable text list of paths")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var entries: [Entry] = []
        for (number, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
        {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let full = line.hasPrefix("/") ? line : folder.appendingPathComponent(line).path
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isFolder), !isFolder.boolValue else {
                throw ExtractionError("\(path), line \(number + 1): no such video file: \(line)")
            }
            let parent = URL(fileURLWithPath: full).deletingLastPathComponent().lastPathComponent
            entries.append(Entry(path: full, className: parent))
        }
        guard !entries.isEmpty else { throw ExtractionError("--videos \(path): the list names no video") }
        return VideoList(entries: entries)
    }

    /// Class names in sorted order and each row's class index, for `--labels-from-folders`.
    public func classes() throws -> (names: [String], indices: [Int]) {
        if let missing = entries.first(where: { $0.className == nil }) {
            throw ExtractionError(
                "--labels-from-folders: \(missing.path) is not inside a class folder (expected ROOT/CLASS/VIDEO)")
        }
        let names = Set(entries.map { $0.className! }).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        return (names, entries.map { index[$0.className!]! })
    }
}
