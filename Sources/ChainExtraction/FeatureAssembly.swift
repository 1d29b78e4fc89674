import ChainData
import ChainStorage
import Foundation
import Yams

/// Writes the final files of an extraction from its part files, one row at a time (no rank
/// holds the whole set): each file is written under a temporary name, and only when every
/// one is complete are they renamed into place and the work folder removed.
public struct FeatureAssembly {
    public let output: ExtractionOutput
    public let settings: ExtractionSettings
    public let videos: VideoList
    public let skipBad: Bool

    /// What the assembly wrote: usable rows and the skipped ones with their reasons.
    public struct Summary: Sendable {
        public var rows: Int
        public var featureSize: Int
        public var skipped: [(path: String, reason: String)]
    }

    public func run() throws -> Summary {
        // Pass 1: every row's status and shape (headers only).
        var usable: [Int] = []
        var skipped: [(row: Int, reason: String)] = []
        var featureSize = 0
        var headers: [VideoFeatures] = []
        for row in videos.entries.indices {
            let header = try VideoFeatures.readPart(from: output.part(row: row), values: false)
            headers.append(header)
            if let reason = header.failure {
                skipped.append((row, reason))
            } else {
                guard header.frames == settings.frames, header.copies == settings.copies,
                    featureSize == 0 || header.featureSize == featureSize
                else { throw ExtractionError("\(output.part(row: row)): shape differs from the other rows") }
                featureSize = header.featureSize
                usable.append(row)
            }
        }
        if !skipped.isEmpty && !skipBad {
            let listed = skipped.prefix(20).map { "  \(videos.entries[$0.row].path): \($0.reason)" }
            let more = skipped.count > 20 ? "\n  … and \(skipped.count - 20) more" : ""
            throw ExtractionError(
                "\(skipped.count) of \(videos.entries.count) videos could not be used; no final files were "
                    + "written (fix or remove them and rerun, which redoes only those, or pass --skip-bad to "
                    + "leave them out and list them in \(output.videos)):\n" + listed.joined(separator: "\n") + more)
        }
        guard !usable.isEmpty else { throw ExtractionError("no usable video: nothing to write") }

        var written: [(temporary: String, final: String)] = []
        let t = settings.frames, a = settings.copies, f = featureSize, n = usable.count
        let featureFile = output.assembling(output.features)
        let augmentedFile = output.assembling(output.augmented)
        try writeFeatures(usable: usable, featureFile: featureFile, augmentedFile: a > 0 ? augmentedFile : nil, f: f)
        written.append((featureFile, output.features))
        if a > 0 { written.append((augmentedFile, output.augmented)) }

        let csv = output.assembling(output.videos)
        try videoTable(headers: headers).write(toFile: csv, atomically: false, encoding: .utf8)
        written.append((csv, output.videos))

        var classes = 0
        if settings.labelsFromFolders {
            let (names, indices) = try videos.classes()
            classes = names.count
            var values = [Double](repeating: 0, count: n * classes)
            for (i, row) in usable.enumerated() { values[i * classes + indices[row]] = 1 }
            let labels = output.assembling(output.labels)
            try MATWriter.write(path: labels, name: "labels", rows: n, columns: classes, values: values)
            written.append((labels, output.labels))
            let classFile = output.assembling(output.classes)
            try (names.joined(separator: "\n") + "\n").write(toFile: classFile, atomically: false, encoding: .utf8)
            written.append((classFile, output.classes))
        }
        let yaml = output.assembling(output.datasetYAML)
        try datasetYAML(frames: t, featureSize: f, classes: classes)
            .write(toFile: yaml, atomically: false, encoding: .utf8)
        written.append((yaml, output.datasetYAML))

        // Publish: every file is complete; stale finals of an earlier assembly are replaced.
        let files = FileManager.default
        for (temporary, final) in written {
            if files.fileExists(atPath: final) { try files.removeItem(atPath: final) }
            try files.moveItem(atPath: temporary, toPath: final)
        }
        if a == 0, files.fileExists(atPath: output.augmented) { try files.removeItem(atPath: output.augmented) }
        try files.removeItem(atPath: output.workFolder)
        return Summary(
            rows: n, featureSize: f, skipped: skipped.map { (videos.entries[$0.row].path, $0.reason) })
    }

    private func writeFeatures(usable: [Int], featureFile: String, augmentedFile: String?, f: Int) throws {
        let t = settings.frames, a = settings.copies, n = usable.count
        for path in [featureFile, augmentedFile].compactMap({ $0 }) where FileManager.default.fileExists(atPath: path) {
            try FileManager.default.removeItem(atPath: path)
        }
        let clean = try HDF5File(path: featureFile, mode: .createExclusive)
        let cleanSet = try clean.createDataset("feats", shape: [n, t, f], type: settings.elementType)
        var copiesSet: HDF5Dataset? = nil
        var copiesFile: HDF5File? = nil
        if let augmentedFile {
            copiesFile = try HDF5File(path: augmentedFile, mode: .createExclusive)
            copiesSet = try copiesFile!.createDataset("feats", shape: [n, a, t, f], type: settings.elementType)
        }
        for (i, row) in usable.enumerated() {
            let part = try VideoFeatures.readPart(from: output.part(row: row))
            try part.values.withUnsafeBufferPointer { values in
                try cleanSet.write(start: [i, 0, 0], count: [1, t, f], from: values.baseAddress!)
                if let copiesSet {
                    try copiesSet.write(start: [i, 0, 0, 0], count: [1, a, t, f], from: values.baseAddress! + t * f)
                }
            }
        }
        clean.close()
        copiesFile?.close()
    }

    /// `NAME_videos.csv`: one line per input video in list order.
    func videoTable(headers: [VideoFeatures]) -> String {
        func field(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        var lines = ["row,path,frames_decoded,duration_s,status"]
        var next = 0
        for (index, header) in headers.enumerated() {
            let path = videos.entries[index].path
            if let reason = header.failure {
                lines.append(
                    ",\(field(path)),,,\(field("skipped: " + reason.replacingOccurrences(of: "\n", with: " ")))")
            } else {
                lines.append(
                    "\(next),\(field(path)),\(header.decodedFrames),"
                        + "\(String(format: "%.3f", header.durationSeconds)),ok")
                next += 1
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `NAME.yaml`: this extraction as train, database and query set (the query videos are
    /// then in the database; for a real protocol pair NAME_train with NAME_test, see
    /// `DatasetPairing`).
    func datasetYAML(frames: Int, featureSize: Int, classes: Int) throws -> String {
        let features = (output.features as NSString).lastPathComponent
        let labels = settings.labelsFromFolders ? (output.labels as NSString).lastPathComponent : nil
        let augmented = settings.copies > 0 ? (output.augmented as NSString).lastPathComponent : nil
        let config = DatasetConfig(
            name: output.name, root: ".", frames: frames, featureSize: featureSize,
            classes: classes > 0 ? classes : nil,
            train: .init(features: features, augmented: augmented),
            database: .init(features: features, labels: labels),
            query: .init(features: features, labels: labels))
        return "# Written by chain-extract: every split is \(features) (see docs/extraction.md).\n"
            + (try YAMLEncoder().encode(config))
    }
}
