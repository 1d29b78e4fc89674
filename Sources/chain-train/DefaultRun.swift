import ChainData
import ChainDistributed
import ChainTraining
import Foundation

/// What `chain-train` with no arguments trains on: a small synthetic dataset with 2
/// augmented copies of every training video (the views read them, as on real data), generated
/// once into runs/default/data by rank 0 and reused afterwards (if it still validates and
/// has its copies).
enum DefaultRun {
    static let dataDirectory = "runs/default/data"

    /// The dataset config, generating the files first when needed (collective).
    static func dataset(_ comm: Communicator) throws -> DatasetConfig {
        let path = (dataDirectory as NSString).appendingPathComponent("synth.yaml")
        try comm.onRoot {
            let existing = try? DatasetConfig.load(path: path, environment: [:])
            if existing == nil || existing!.train.augmented == nil
                || (try? DatasetValidator(config: existing!, scanValues: false).validate()) == nil
            {
                var o = SyntheticVideos.Options()
                o.name = "synth"; o.videos = 1000; o.queries = 200; o.classes = 10; o.frames = 25; o.featureSize = 512;
                o.seed = 1; o.augmentedCopies = 2
                print(
                    "chain-train: no dataset given; generating the built-in synthetic set in \(dataDirectory) "
                        + "(\(o.videos) training videos, \(o.queries) queries, \(o.classes) classes, \(o.frames) × "
                        + "\(o.featureSize), \(o.augmentedCopies) augmented copies per training video)"
                )
                fflush(nil)
                try SyntheticVideos(o).write(to: dataDirectory)
            }
        }
        return try comm.agree(partialNote: TrainingRun.sharedFilesNote) {
            try DatasetConfig.load(path: path, environment: [:])
        }
    }

    static let runsDirectory = "runs/default"

    /// The built-in run's folder: a fresh runs/default/run-<UTC time>, so running it twice
    /// never meets the first run's checkpoints, except when resuming. `--resume auto`
    /// continues the newest run folder that has checkpoints and no final evaluation
    /// (`eval/final.json`), or starts a fresh one when there is none; `--resume FILE` uses
    /// the run folder FILE's checkpoints/ folder is in. Rank 0 decides and broadcasts, so
    /// every rank uses the same folder (clocks may straddle a second).
    static func runDirectory(resume: CheckpointManager.Resume, _ comm: Communicator) -> String {
        var bytes: [UInt8] = []
        if comm.isRoot { bytes = Array(chooseRunDirectory(resume: resume).utf8) }
        comm.broadcast(&bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func chooseRunDirectory(resume: CheckpointManager.Resume) -> String {
        switch resume {
        case .none: break
        case .auto:
            if let unfinished = unfinishedRuns().first { return unfinished }
        case .path(let file):
            let folder = ((file as NSString).standardizingPath as NSString).deletingLastPathComponent
            if (folder as NSString).lastPathComponent == "checkpoints" {
                return (folder as NSString).deletingLastPathComponent
            }
        }
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        return "\(runsDirectory)/run-\(f.string(from: Date()))"
    }

    /// Built-in run folders with at least one checkpoint and no final evaluation, newest first.
    static func unfinishedRuns() -> [String] {
        let fm = FileManager.default
        let names = (try? fm.contentsOfDirectory(atPath: runsDirectory)) ?? []
        return names.filter { $0.hasPrefix("run-") }.sorted(by: >).map { "\(runsDirectory)/\($0)" }.filter {
            !Checkpoint.list(in: "\($0)/checkpoints").isEmpty && !fm.fileExists(atPath: "\($0)/eval/final.json")
        }
    }
}
