import ArgumentParser
import ChainCLI
import ChainData
import ChainStorage
import ChainNumerics
import Foundation

/// `chain-data`: check, describe and generate datasets (docs/data.md).
@main
struct ChainDataCommand: ChainTool {
    static let configuration = CommandConfiguration(
        commandName: "chain-data",
        abstract: "Validate, inspect and generate video-feature datasets.",
        subcommands: [Validate.self, Inspect.self, Synth.self])
}

/// Prints a failure as one line on stderr and exits non-zero.
func fail(_ error: Error) -> ExitCode { toolFailure("chain-data", error) }

/// The element types `chain-data synth` can store.
enum StoredType: String, CaseIterable {
    case float32, float16
    var hdf5: HDF5ElementType { self == .float32 ? .float32 : .float16 }
}

func megabytes(_ bytes: Int) -> String {
    bytes >= 1 << 30 ? String(format: "%.2f GB", Double(bytes) / 1e9) : String(format: "%.1f MB", Double(bytes) / 1e6)
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
}

func labelStatistics(_ labels: LabelMatrix) -> String {
    var perRow = [Int](repeating: 0, count: labels.rows), perClass = [Int](repeating: 0, count: labels.classes)
    for r in 0..<labels.rows {
        for (c, v) in labels.row(r).enumerated() where v == 1 { perRow[r] += 1; perClass[c] += 1 }
    }
    let mean = Double(perRow.reduce(0, +)) / Double(max(labels.rows, 1))
    return
        "\(labels.rows) × \(labels.classes) labels; per video min \(perRow.min() ?? 0) mean "
        + "\(String(format: "%.2f", mean)) max \(perRow.max() ?? 0)"
        + "; per class min \(perClass.min() ?? 0) max \(perClass.max() ?? 0); \(perRow.filter { $0 == 0 }.count) "
        + "unlabelled"
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Check a dataset config: files, keys, shapes, element types, NaN/Inf, labels. Exits non-zero on the "
            + "first problem."
    )

    @Argument(help: "Dataset config (YAML).") var config: String
    @Option(help: "Folder of the files (replaces the config's root and CHAIN_DATA_ROOT).") var root: String?
    @Option(help: "Check that this many ranks can train on it.") var worldSize = 0
    @Flag(help: "Skip the NaN/Inf scan (it reads every feature once).") var noScan = false

    func run() throws {
        do {
            let c = try DatasetConfig.load(path: config, rootOverride: root)
            let splits = try DatasetValidator(config: c, worldSize: worldSize, scanValues: !noScan).validate()
            print("\(config): dataset '\(c.name)' in \(c.root): \(c.frames) frames × \(c.featureSize) features")
            for s in splits {
                var line = "  \(s.role): \(s.features) · \(s.videos) videos · \(s.elementType)"
                if let a = s.augmentedCopies { line += " · \(a) augmented copies" }
                if let l = s.labels { line += " · \(l.classes) classes" }
                print(line)
            }
            print(
                "ok\(noScan ? " (values not scanned)" : ""): \(splits.train.videos) training videos, "
                    + "\(splits.query.videos) queries against \(splits.database.videos)"
            )
        } catch {
            throw fail(error)
        }
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Describe a feature file (.h5), a label file (.mat/.h5) or a dataset config (.yaml): shapes, element "
            + "types, sizes, label statistics."
    )

    @Argument(help: "File to describe.") var path: String
    @Option(help: "Folder of the files, for a config.") var root: String?

    func run() throws {
        do {
            guard FileManager.default.fileExists(atPath: path) else { throw DataError("\(path): no such file") }
            if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
                let c = try DatasetConfig.load(path: path, rootOverride: root)
                print(
                    "dataset '\(c.name)' · root \(c.root) · \(c.frames) frames × \(c.featureSize) "
                        + "features\(c.classes.map { " · \($0) classes" } ?? "")"
                )
                for (role, split) in [("train", c.train), ("database", c.database), ("query", c.query)] {
                    let f = try FeatureFile(path: c.path(split.features), key: split.featureKey)
                    print(
                        "  \(role): \(f.path) '\(f.key)' \(f.count) × \(f.frames) × \(f.featureSize) "
                            + "\(f.elementType) (\(megabytes(fileSize(f.path))) on disk, "
                            + "\(megabytes(f.count * f.videoStride * 4)) as float32)"
                    )
                    if let a = split.augmented {
                        let copies = try FeatureFile(
                            path: c.path(a), key: split.augmentedKey ?? "feats", augmented: true)
                        print("    augmented: \(copies.path) \(copies.count) × \(copies.copies) copies")
                    }
                    if let l = split.labels {
                        print(
                            "    labels: \(c.path(l)): "
                                + labelStatistics(try LabelReader.read(path: c.path(l), keys: split.labelKeys)))
                    }
                }
                return
            }
            if MATFile.isLevel5(path) {
                print("\(path): MATLAB level-5 file, \(megabytes(fileSize(path)))")
                print("  " + labelStatistics(try LabelReader.read(path: path)))
                return
            }
            let file: HDF5File
            do { file = try HDF5File(path: path) } catch {
                throw DataError("\(path): neither HDF5 nor a MATLAB .mat file")
            }
            print("\(path): HDF5, \(megabytes(fileSize(path)))")
            for name in file.rootNames() {
                guard let d = try? file.dataset(name) else {
                    print("  \(name): (group or unsupported object)"); continue
                }
                print("  \(name): shape \(d.shape) \(d.elementType)")
            }
            if LabelReader.defaultKeys.contains(where: file.contains) {
                print("  " + labelStatistics(try LabelReader.read(path: path)))
            }
        } catch {
            throw fail(error)
        }
    }
}

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Generate the synthetic benchmark in the UCF101 layout (features, labels, optional augmented copies, a "
            + "dataset config)."
    )

    @Option(help: "Output folder.") var out: String
    @Option(help: "File-name prefix.") var name = "synth"
    @Option(help: "Training (database) videos.") var videos = 1000
    @Option(help: "Query videos.") var queries = 200
    @Option(help: "Classes.") var classes = 10
    @Option(help: "Frames per video.") var frames = 25
    @Option(help: "Feature width F.") var dim = 512
    @Option(help: "Augmented copies per training video (0: none).") var augCopies = 0
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Flag(help: "Give 30% of the videos a second class.") var multiLabel = false
    @Option(help: "Stored element type: float32 or float16.", transform: choice("--dtype")) var dtype = StoredType
        .float32
    @Option(help: "Scenes in each class's sequence.") var scenes = 4

    func run() throws {
        do {
            var o = SyntheticVideos.Options()
            o.name = name; o.videos = videos; o.queries = queries; o.classes = classes; o.frames = frames
            o.featureSize = dim; o.augmentedCopies = augCopies; o.seed = seed; o.multiLabel = multiLabel;
            o.scenesPerClass = scenes
            o.elementType = dtype.hdf5
            let start = ContinuousClock.now
            let files = try SyntheticVideos(o).write(to: out) { done, total in
                print(String(format: "  %d/%d videos (%.0f%%)", done, total, 100 * Double(done) / Double(total)))
                fflush(nil)
            }
            for f in files { print("wrote \(f) (\(megabytes(fileSize(f))))") }
            print(String(format: "done in %.1f s", (ContinuousClock.now - start).seconds))
        } catch {
            throw fail(error)
        }
    }
}
