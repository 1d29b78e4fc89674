import CVision
import ChainDistributed
import ChainNumerics
import Foundation

/// One chain-extract run on every rank: rank r extracts rows r, r + W, r + 2W, … (W ranks)
/// into part files, skipping rows a killed earlier run finished; then rank 0 assembles the
/// final files. Every video is extracted exactly once, by one rank, and its features depend
/// only on the settings and the row, so any world size writes the same bytes.
public struct ExtractionJob {
    public var settings: ExtractionSettings
    public var videos: VideoList
    public var output: ExtractionOutput
    public var skipBad = false
    /// Replace final files of an earlier, finished extraction with the same name.
    public var overwrite = false
    /// OpenCV threads per rank (0: OpenCV's default).
    public var threads = 0
    /// Where progress goes (rank 0 only); nil: quiet.
    public var progress: ExtractionProgress?
    /// Stop after this many videos on each rank, without assembling (as a kill would).
    public var stopAfter: Int?

    public init(settings: ExtractionSettings, videos: VideoList, output: ExtractionOutput) {
        self.settings = settings
        self.videos = videos
        self.output = output
    }

    /// What the run did, for the final report.
    public struct Result: Sendable {
        public var rows: Int
        public var featureSize: Int
        public var skipped: [(path: String, reason: String)]
        public var extractedHere: Int
        public var resumedHere: Int
        public var seconds: Double
        /// Stopped by `stopAfter` before every row was extracted: no final files yet.
        public var stopped: Bool
    }

    public func run(comm: Communicator) throws -> Result {
        let clock = ContinuousClock(), start = clock.now
        try comm.onRoot { try prepareWorkFolder() }
        chain_vision_set_threads(Int32(threads))
        var network: FeatureNetwork?
        try comm.everyRank(
            { network = try FeatureNetwork(path: settings.model, probeSize: settings.size) },
            elsewhere: ExtractionError("another rank could not load --model \(settings.model)"))
        var extracted = 0, resumed = 0
        try comm.everyRank(
            {
                let extractor = ClipFeatureExtractor(settings: settings, network: network!)
                let mine = Array(stride(from: comm.rank, to: videos.entries.count, by: comm.size))
                let todo = mine.filter { !isFinished(row: $0) }
                resumed = mine.count - todo.count
                progress?.begin(total: mine.count, resumed: resumed, rank: comm.rank, ranks: comm.size)
                for row in todo {
                    if let stopAfter, extracted >= stopAfter { break }
                    let features = try extractor.extract(row: row, path: videos.entries[row].path)
                    try features.writePart(to: output.part(row: row))
                    extracted += 1
                    progress?.finished(frames: (1 + settings.copies) * settings.frames, usable: features.isUsable)
                }
                progress?.end()
            }, elsewhere: ExtractionError("another rank failed while extracting (its message is above)"))
        let unfinished = comm.allReduce(isEveryRowFinished(rank: comm.rank, ranks: comm.size) ? 0 : 1, .max) > 0
        var summary: FeatureAssembly.Summary?
        if unfinished {
            return Result(
                rows: 0, featureSize: network!.featureSize, skipped: [], extractedHere: extracted, resumedHere: resumed,
                seconds: (clock.now - start).seconds, stopped: true)
        }
        try comm.onRoot {
            summary = try FeatureAssembly(output: output, settings: settings, videos: videos, skipBad: skipBad).run()
            try DatasetPairing(output: output).writeIfComplete()
        }
        return Result(
            rows: summary?.rows ?? 0, featureSize: summary?.featureSize ?? network!.featureSize,
            skipped: summary?.skipped ?? [], extractedHere: extracted, resumedHere: resumed,
            seconds: (clock.now - start).seconds, stopped: false)
    }

    /// Whether this rank's rows all have part files (false after a stop).
    func isEveryRowFinished(rank: Int, ranks: Int) -> Bool {
        stride(from: rank, to: videos.entries.count, by: ranks).allSatisfy {
            FileManager.default.fileExists(atPath: output.part(row: $0))
        }
    }

    /// Rank 0: the work folder exists with this job's manifest (a different job's is an error).
    func prepareWorkFolder() throws {
        let files = FileManager.default
        try files.createDirectory(atPath: output.folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if files.fileExists(atPath: output.manifest) {
            guard let data = files.contents(atPath: output.manifest),
                let earlier = try? JSONDecoder().decode(ExtractionSettings.self, from: data)
            else { throw ExtractionError("\(output.manifest): unreadable; remove \(output.workFolder) to start over") }
            let differences = settings.differences(from: earlier)
            guard differences.isEmpty else {
                throw ExtractionError(
                    "\(output.workFolder) holds an unfinished extraction with other settings "
                        + "(\(differences.joined(separator: ", ")) "
                        + "differ): rerun with the same options to resume it, or remove the folder to start over")
            }
        } else {
            if !overwrite, let existing = output.finalFiles.first(where: { files.fileExists(atPath: $0) }) {
                throw ExtractionError(
                    "\(existing) exists (an earlier extraction named '\(output.name)'): pass --overwrite to replace "
                        + "it, or choose another --name or --out")
            }
            try files.createDirectory(atPath: output.partsFolder, withIntermediateDirectories: true)
            try encoder.encode(settings).write(to: URL(fileURLWithPath: output.manifest))
        }
        try files.createDirectory(atPath: output.partsFolder, withIntermediateDirectories: true)
        // Temporaries of a killed run (its ranks have exited: this runs before any rank starts).
        for name in try files.contentsOfDirectory(atPath: output.partsFolder) where name.contains(".tmp-") {
            try? files.removeItem(atPath: (output.partsFolder as NSString).appendingPathComponent(name))
        }
    }

    /// Whether a part file for `row` exists and was made from the file as it is now.
    func isFinished(row: Int) -> Bool {
        guard let part = try? VideoFeatures.readPart(from: output.part(row: row), values: false) else { return false }
        return part.row == row && part.source == ClipFeatureExtractor.source(of: videos.entries[row].path)
    }
}
