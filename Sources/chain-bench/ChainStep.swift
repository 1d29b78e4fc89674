import ArgumentParser
import ChainDistributed
import ChainModel
import ChainNN
import ChainNumerics
import ChainTraining
import Foundation

/// A full CHAIN training step (both views, contrastive over the global batch, frame order,
/// scene change with affinity propagation, gradient all-reduce, AdamW) on random features,
/// with the time of each phase. Run it under mpirun for the multi-rank figures: `--batch`
/// is per rank, so the global batch grows with the ranks (weak scaling).
struct ChainStep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chain-step",
        abstract: "Time a full CHAIN training step and break it down by phase (run under mpirun for several ranks).")
    @Option(help: "Videos per rank per step.") var batch = 64
    @Option(help: "Frames per video.") var frames = 25
    @Option(help: "Frame feature size.") var features = 4096
    @Option(help: "Code length.") var bits = 64
    @Option(help: "Transformer blocks.") var layers = 4
    @Option(help: "Frames per view (L).") var viewFrames = 12
    @Option(help: "β, the scene-change weight (the default config has 0; the breakdown turns it on).") var sceneWeight: Float = 1
    @Option(help: "α, the frame-order weight.") var orderWeight: Float = 1
    @Option(help: "Compute threads per rank.") var threads = 1
    @Option(help: "Timed steps.") var steps = 10
    @Option(help: "Untimed warm-up steps.") var warmup = 2

    func validate() throws {
        guard steps > 0, warmup >= 0, batch > 1, frames > 1, features > 0, threads > 0, viewFrames > 1 else {
            throw ValidationError("sizes, threads and steps must be positive")
        }
    }

    func run() throws {
        let comm = Communicator.world()
        defer { Communicator.finalize() }
        BLAS.threads = 1
        var config = CHAINConfig(featureSize: features, maxFrames: frames, bits: bits, layers: layers, viewFrames: viewFrames)
        config.sceneWeight = sceneWeight
        config.orderWeight = orderWeight
        let model = CHAINModel(config: config, seed: 1)
        let optimizer = AdamW(model.store)
        optimizer.workers = threads
        let step = CHAINTrainingStep(model: model, maxBatch: batch, workers: threads)
        let profile = StepProfile()
        let exchange = ProfiledExchange(comm, profile)
        let videos = Tensor(shape: [batch * frames, features])
        var g = Philox(seed: 10 + UInt64(comm.rank))
        for i in 0..<videos.count { videos.pointer[i] = max(0, g.nextGaussian()) }
        var rng = Philox(seed: 20 + UInt64(comm.rank))
        var times: [Double] = []
        for s in 0..<(warmup + steps) {
            if s == warmup { profile.reset() }
            comm.barrier()
            let start = Clock.now
            model.store.zeroGradients()
            step.profile = profile
            step.run(videos: videos.pointer, batch: batch, frames: frames, rng: &rng, exchange: exchange)
            profile.measure("all-reduce") { comm.allReduce(model.store.gradients.buffer) }
            profile.measure("optimizer") {
                clipGradientNorm(model.store, maxNorm: 1)
                optimizer.update(model.store, learningRate: 1e-4)
            }
            if s >= warmup { times.append(Clock.seconds(since: start)) }
        }
        times.sort()
        let median = times[times.count / 2]
        guard comm.rank == 0 else { return }
        let global = batch * comm.size
        print("CHAIN step: \(comm.size) rank(s) × \(batch) videos (global batch \(global)), T=\(frames), F=\(features), L=\(viewFrames), "
              + "\(layers) blocks, \(bits) bits, α=\(orderWeight), β=\(sceneWeight), \(threads) thread(s) per rank, "
              + "\(model.store.parameterCount) parameters")
        print(String(format: "median %.1f ms/step (min %.1f) | %.1f videos/s", median * 1e3, times[0] * 1e3, Double(global) / median))
        let total = profile.phases.reduce(0) { $0 + profile.seconds[$1]! } - (profile.seconds["gathers"] ?? 0)
        for phase in profile.phases {
            let ms = profile.seconds[phase]! / Double(steps) * 1e3
            let note = phase == "gathers" ? "  (inside contrastive and scene loss)" : ""
            print("  " + phase.padding(toLength: 22, withPad: " ", startingAt: 0)
                  + String(format: "%8.1f ms  %5.1f%%", ms, 100 * profile.seconds[phase]! / total) + note)
        }
    }
}

/// Adds the time of every gather and reduce-scatter of the objectives to a profile.
final class ProfiledExchange: BatchExchange {
    let inner: Communicator, profile: StepProfile
    init(_ inner: Communicator, _ profile: StepProfile) { self.inner = inner; self.profile = profile }
    var rank: Int { inner.rank }
    var worldSize: Int { inner.size }
    func allGather(_ local: UnsafeBufferPointer<Float>, into global: UnsafeMutableBufferPointer<Float>) {
        profile.measure("gathers") { inner.allGather(local, into: global) }
    }
    func allGather(_ local: UnsafeBufferPointer<Float>, counts: [Int], into global: UnsafeMutableBufferPointer<Float>) {
        profile.measure("gathers") { inner.allGather(local, counts: counts, into: global) }
    }
    func allGatherCounts(_ value: Int) -> [Int] { profile.measure("gathers") { inner.allGather(value) } }
    func reduceScatter(_ global: UnsafeBufferPointer<Float>, into local: UnsafeMutableBufferPointer<Float>) {
        profile.measure("gathers") { inner.reduceScatter(global, into: local) }
    }
}

/// The gradient all-reduce alone: MPI_Allreduce (sum) of a float buffer, median of --runs.
struct AllReduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce", abstract: "Time MPI_Allreduce of a gradient-sized buffer (run under mpirun).")
    @Option(help: "Floats (default: the CHAIN FCVID model's flat parameter buffer).") var floats = 0
    @Option(help: "Timed runs.") var runs = 30

    func run() {
        let comm = Communicator.world()
        defer { Communicator.finalize() }
        let count = floats > 0 ? floats : CHAINModel(config: CHAINConfig(featureSize: 4096, maxFrames: 25), seed: 1).store.values.count
        let buffer = Tensor(shape: [count])
        buffer.fill(1)
        var times: [Double] = []
        for r in 0..<(runs + 3) {
            comm.barrier()
            let t = Clock.now
            comm.allReduce(buffer.buffer)
            if r >= 3 { times.append(Clock.seconds(since: t)) }
        }
        var worst = times
        worst.withUnsafeMutableBufferPointer { p in
            p.withMemoryRebound(to: Double.self) { comm.allReduce($0, .max) }
        }
        guard comm.rank == 0 else { return }
        worst.sort()
        let median = worst[worst.count / 2]
        print(String(format: "all-reduce of %d floats (%.1f MB) over %d ranks: median %.2f ms (slowest rank per run), %.2f GB/s algorithm bandwidth",
                     count, Double(count * 4) / 1e6, comm.size, median * 1e3, Double(count * 4) / median / 1e9))
    }
}

/// Affinity propagation on a training batch's worth of problems: 128 videos × 25 frames of
/// 64-bit activations, similarities −‖û_i − û_j‖², scikit-learn's default rules.
struct Affinity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time affinity propagation on one batch (one problem per video); --dump writes the matrices for scikit-learn.")
    @Option(help: "Videos (problems).") var videos = 128
    @Option(help: "Frames per video.") var frames = 25
    @Option(help: "Activation size.") var dim = 64
    @Option(help: "Timed runs.") var runs = 20
    @Option(help: "Write the similarity matrices and labels as raw float64/int32 files with this prefix.") var dump: String?

    func run() throws {
        var g = Philox(seed: 4)
        // Scene-like activations: each video is a few runs of frames around random centres.
        var activations = [Float](repeating: 0, count: videos * frames * dim)
        for v in 0..<videos {
            let scenes = 2 + g.nextInt(below: 3)
            let centres = (0..<(scenes * dim)).map { _ in g.nextGaussian() }
            for f in 0..<frames {
                let s = f * scenes / frames
                for k in 0..<dim { activations[(v * frames + f) * dim + k] = centres[s * dim + k] + 0.6 * g.nextGaussian() }
            }
        }
        let ap = AffinityPropagation()
        var matrices: [[Double]] = []
        for v in 0..<videos {
            let unit = Tensor(shape: [frames, dim]), norms = Tensor(shape: [frames])
            activations.withUnsafeBufferPointer {
                RowNormalization.forward($0.baseAddress! + v * frames * dim, unit.pointer, norms: norms.pointer, rows: frames, columns: dim)
            }
            matrices.append(AffinityPropagation.negativeSquaredDistances(unit.pointer, count: frames, dimension: dim))
        }
        var times: [Double] = []
        var labels: [[Int]] = []
        for _ in 0..<runs {
            let t = Clock.now
            labels = matrices.map { ap.fit(similarities: $0, count: frames).labels }
            times.append(Clock.seconds(since: t))
        }
        times.sort()
        let clusters = labels.map { Set($0.filter { $0 >= 0 }).count }
        print(String(format: "affinity propagation, %d problems of %d×%d: median %.2f ms per batch (%.1f µs per problem), %.1f clusters per problem",
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
