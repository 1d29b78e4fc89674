import ArgumentParser
import ChainModel
import ChainNN
import ChainNumerics
import Foundation

/// Affinity propagation on a training batch's worth of problems: 128 videos × 25 frames of
/// 64-bit activations, similarities −‖û_i − û_j‖², scikit-learn's default rules.
struct Affinity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Time affinity propagation on one batch (one problem per video); --dump writes the matrices for "
            + "scikit-learn."
    )
    @Option(help: "Videos (problems).") var videos = 128
    @Option(help: "Frames per video.") var frames = 25
    @Option(help: "Activation size.") var dim = 64
    @Option(help: "Timed runs.") var runs = 20
    @Option(help: "Write the similarity matrices and labels as raw float64/int32 files with this prefix.")
    var dump: String?

    func run() throws {
        var g = Philox(seed: 4)
        // Scene-like activations: each video is a few runs of frames around random centres.
        var activations = [Float](repeating: 0, count: videos * frames * dim)
        for v in 0..<videos {
            let scenes = 2 + g.nextInt(below: 3)
            let centres = (0..<(scenes * dim)).map { _ in g.nextGaussian() }
            for f in 0..<frames {
                let s = f * scenes / frames
                for k in 0..<dim {
                    activations[(v * frames + f) * dim + k] = centres[s * dim + k] + 0.6 * g.nextGaussian()
                }
            }
        }
        let ap = AffinityPropagation()
        var matrices: [[Double]] = []
        for v in 0..<videos {
            let unit = Tensor(shape: [frames, dim]), norms = Tensor(shape: [frames])
            activations.withUnsafeBufferPointer {
                RowNormalization.forward(
                    $0.baseAddress! + v * frames * dim, unit.pointer, norms: norms.pointer, rows: frames, columns: dim)
            }
            matrices.append(AffinityPropagation.negativeSquaredDistances(unit.pointer, count: frames, dimension: dim))
        }
        var times: [Double] = []
        var labels: [[Int]] = []
        for _ in 0..<runs {
            let t = ContinuousClock.now
            labels = matrices.map { ap.fit(similarities: $0, count: frames).labels }
            times.append((ContinuousClock.now - t).seconds)
        }
        times.sort()
        let clusters = labels.map { Set($0.filter { $0 >= 0 }).count }
        print(
            String(
                format:
                    "affinity propagation, %d problems of %d×%d: median %.2f ms per batch (%.1f µs per problem), "
                    + "%.1f clusters per problem",
                videos, frames, frames, times[times.count / 2] * 1e3, times[times.count / 2] / Double(videos) * 1e6,
                Double(clusters.reduce(0, +)) / Double(videos)))
        if let dump {
            let s = matrices.flatMap { $0 }
            try s.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: dump + ".similarities.f64")) }
            let l = labels.flatMap { $0.map(Int32.init) }
            try l.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: dump + ".labels.i32")) }
            print("wrote \(dump).similarities.f64 (\(videos)×\(frames)×\(frames) float64) and \(dump).labels.i32")
        }
    }
}
