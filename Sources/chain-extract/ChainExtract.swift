import ArgumentParser
import CVision
import ChainCLI
import ChainDistributed
import ChainExtraction
import ChainTraining
import Foundation

/// `chain-extract`: per-frame CNN features of video files, with temporally-consistent
/// augmented copies, in the layout chain-train reads; spread over MPI ranks, resumable.
@main
struct ChainExtract: ChainTool {
    static let configuration = CommandConfiguration(
        commandName: "chain-extract",
        abstract: "Video files → NAME_feats.h5 (N × T × F) and augmented copies (N × A × T × F).",
        discussion: """
            Example (UCF101-style class folders, 2 augmented copies, the ONNX MobileNetV2):
              chain-extract --videos videos/train --model mobilenetv2_1280.onnx --out data --name shots_train \\
                --size 112 --aug-copies 2 --labels-from-folders
            Each video: T frames at the centres of T equal segments of its decoded frames; each copy one random \
            resized crop, flip and colour setting for all T frames; then the CNN (OpenCV dnn). Under mpirun the \
            ranks split the videos. Killed and rerun with the same options, it resumes; the final files are then \
            identical to an uninterrupted run's. See docs/extraction.md.
            """)

    @Option(help: "A folder of videos (searched recursively), a text file of paths, or one video file.")
    var videos: String
    @Option(help: "ONNX model: input N × 3 × H × W, output N × F.") var model: String
    @Option(help: "Output folder (created if missing).") var out: String
    @Option(help: "Name of the output files: NAME_feats.h5, NAME_feats_aug.h5, NAME_videos.csv, NAME.yaml, ….")
    var name: String
    @Option(help: "Frames sampled per video (T).") var frames = 25
    @Option(name: .customLong("aug-copies"), help: "Augmented copies per video (A); 0 writes none.")
    var augCopies = 0
    @Option(help: "The network's input size in pixels (size × size).") var size = 224
    @Option(parsing: .upToNextOption, help: "Per-channel mean (R G B) on values in [0, 1].")
    var mean: [Float] = [0.485, 0.456, 0.406]
    @Option(parsing: .upToNextOption, help: "Per-channel standard deviation (R G B).")
    var std: [Float] = [0.229, 0.224, 0.225]
    @Flag(help: "Class folders (ROOT/CLASS/VIDEO) become NAME_labels.mat and NAME_classes.txt.")
    var labelsFromFolders = false
    @Option(help: "Element type of the feature files: float32 or float16.") var dtype = "float32"
    @Option(help: "Seed of the augmented copies (a copy depends only on the seed, its row and its index).")
    var seed: UInt64 = 0
    @Option(parsing: .upToNextOption, help: "Crop area range, fractions of the frame (MIN MAX).")
    var cropArea: [Float] = [0.5, 1]
    @Option(help: "Brightness, contrast and saturation factors are drawn from 1 ± this.") var jitter: Float = 0.2
    @Option(help: "Probability of a horizontal flip per copy.") var flipProbability: Float = 0.5
    @Flag(help: "Leave unusable videos out (listed in NAME_videos.csv) instead of stopping before the final files.")
    var skipBad = false
    @Flag(help: "Replace the final files of an earlier finished extraction with the same --name.")
    var overwrite = false
    @Option(help: "OpenCV threads per rank (0: the node's cores divided by its ranks).") var threads = 0
    @Option(
        help: "Stop after this many videos on each rank, before the final files (as a kill would); rerun to resume.")
    var stopAfter: Int?

    func run() throws {
        let comm = Communicator.world()
        defer { Communicator.finalize() }
        do {
            let job = try makeJob(comm: comm)
            if comm.isRoot {
                print(
                    "chain-extract: \(job.videos.entries.count) videos → \(job.output.folder)/\(name)_*, "
                        + "T = \(frames), "
                        + "\(size)×\(size), \(augCopies) copies, \(comm.size) rank(s) × \(job.threads) thread(s); "
                        + String(cString: chain_vision_build_summary()))
                fflush(nil)
            }
            let result = try job.run(comm: comm)
            if result.stopped {
                if comm.isRoot {
                    print(
                        "chain-extract: stopped after \(result.extractedHere) videos on rank 0 (--stop-after); "
                            + "rerun the "
                            + "same command to resume")
                }
                return
            }
            if comm.isRoot {
                for (path, reason) in result.skipped { print("chain-extract: skipped \(path): \(reason)") }
                print(
                    "chain-extract: wrote \(result.rows) videos × \(frames) frames × \(result.featureSize) features "
                        + "(\(result.skipped.count) skipped) to \(job.output.features)"
                        + (augCopies > 0 ? " and \(job.output.augmented)" : "")
                        + String(format: " in %.1f s", result.seconds))
                print("chain-extract: dataset config \(job.output.datasetYAML)")
                if let stem = DatasetPairing(output: job.output).stem,
                    FileManager.default.fileExists(atPath: "\(job.output.folder)/\(stem).yaml")
                {
                    print("chain-extract: train/test pair \(job.output.folder)/\(stem).yaml")
                }
            }
        } catch {
            throw toolFailure("chain-extract", error, comm: comm)
        }
    }

    func makeJob(comm: Communicator) throws -> ExtractionJob {
        if let stopAfter, stopAfter < 1 { throw ExtractionError("--stop-after \(stopAfter): must be positive") }
        guard frames >= 1 else { throw ExtractionError("--frames \(frames): must be at least 1") }
        guard size >= 8 else { throw ExtractionError("--size \(size): must be at least 8") }
        guard augCopies >= 0 else { throw ExtractionError("--aug-copies \(augCopies): must be 0 or more") }
        guard dtype == "float32" || dtype == "float16" else {
            throw ExtractionError("--dtype \(dtype): must be float32 or float16")
        }
        guard cropArea.count == 2, cropArea[0] > 0, cropArea[0] <= cropArea[1], cropArea[1] <= 1 else {
            throw ExtractionError("--crop-area takes MIN MAX with 0 < MIN ≤ MAX ≤ 1")
        }
        guard jitter >= 0, jitter < 1 else { throw ExtractionError("--jitter \(jitter): must be in [0, 1)") }
        guard (0...1).contains(flipProbability) else {
            throw ExtractionError("--flip-probability \(flipProbability): must be in [0, 1]")
        }
        guard FileManager.default.isReadableFile(atPath: model) else {
            throw ExtractionError("--model \(model): no such readable file")
        }
        let list = try VideoList.resolve(videos)
        if labelsFromFolders { _ = try list.classes() }
        let modelPath = URL(fileURLWithPath: model).standardizedFileURL.path
        var settings = ExtractionSettings(
            model: modelPath, normalization: try Normalization(mean: mean, standardDeviation: std))
        settings.frames = frames
        settings.size = size
        settings.copies = augCopies
        settings.seed = seed
        settings.float16 = dtype == "float16"
        settings.labelsFromFolders = labelsFromFolders
        settings.augmentation.cropArea = cropArea[0]...cropArea[1]
        settings.augmentation.brightness = jitter
        settings.augmentation.contrast = jitter
        settings.augmentation.saturation = jitter
        settings.augmentation.flipProbability = flipProbability
        try settings.describe(model: modelPath, videos: list)
        var job = ExtractionJob(settings: settings, videos: list, output: try ExtractionOutput(folder: out, name: name))
        job.skipBad = skipBad
        job.overwrite = overwrite
        job.threads = LaunchEnvironment().computeThreads(requested: threads, worldSize: comm.size)
        job.progress = comm.isRoot ? ExtractionProgress() : nil
        job.stopAfter = stopAfter
        return job
    }
}
