import ChainData
import ChainDistributed
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
        return try DatasetConfig.load(path: path, environment: [:])
    }

    /// runs/<dataset>; the built-in run gets a fresh timestamped folder each time, so running
    /// it twice never meets the first run's checkpoints.
    static func runDirectory(dataset: String, builtIn: Bool) -> String {
        guard builtIn else { return "runs/\(dataset)" }
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        return "runs/default/run-\(f.string(from: Date()))"
    }
}
