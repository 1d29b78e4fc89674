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
    @Option(help: "β, the scene-change weight (the default config has 0.5; the breakdown uses 1).")
    var sceneWeight: Float = 1
    @Option(help: "The scene term's candidate prototypes: batch (the global batch's) or video (its own video's).")
    var sceneNegatives = SceneChangeForm.Negatives.batch
    @Option(help: "α, the frame-order weight.") var orderWeight: Float = 1
    @Option(help: "The hash layer's input shortcut: none or pca (its cost; the weights stay unfitted).")
    var inputShortcut = InputShortcut.none
    @Flag(help: "View 0 played backwards as contrastive negatives (objectives.reversed_negatives).")
    var reversedNegatives = false
    @Option(help: "Where a view's frames are embedded: frame (their indices) or stretched (the default config's).")
    var positionIndex = PositionIndex.frame
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
        var config = CHAINConfig(
            featureSize: features, maxFrames: frames, bits: bits, layers: layers, viewFrames: viewFrames)
        config.sceneWeight = sceneWeight
        config.sceneForm.negatives = sceneNegatives
        config.orderWeight = orderWeight
        config.inputShortcut = inputShortcut
        config.reversedNegatives = reversedNegatives
        config.positionIndex = positionIndex
        let model = CHAINModel(config: config, seed: 1)
        let optimizer = AdamW(model.store)
        optimizer.workers = threads
        let step = makeTrainingStep(model: model, maxBatch: batch, workers: threads)
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
            let start = ContinuousClock.now
            model.store.zeroGradients()
            step.profile = profile
            step.run(videos: videos.pointer, batch: batch, frames: frames, rng: &rng, exchange: exchange)
            profile.measure("all-reduce") { comm.allReduce(model.store.gradients.buffer) }
            profile.measure("optimizer") {
                clipGradientNorm(model.store, maxNorm: 1)
                optimizer.update(model.store, learningRate: 1e-4)
            }
            if s >= warmup { times.append((ContinuousClock.now - start).seconds) }
        }
        times.sort()
        let median = times[times.count / 2]
        guard comm.rank == 0 else { return }
        let global = batch * comm.size
        print(
            "CHAIN step: \(comm.size) rank(s) × \(batch) videos (global batch \(global)), T=\(frames), "
                + "F=\(features), L=\(viewFrames), "
                + "\(layers) blocks, \(bits) bits, α=\(orderWeight), "
                + "β=\(sceneWeight) (\(sceneNegatives.rawValue) negatives), "
                + "shortcut \(inputShortcut.rawValue), reversed negatives \(reversedNegatives ? "on" : "off"), "
                + "positions \(positionIndex.rawValue), "
                + "\(threads) thread(s) per rank, "
                + "\(model.store.parameterCount) parameters")
        print(
            String(
                format: "median %.1f ms/step (min %.1f) | %.1f videos/s", median * 1e3, times[0] * 1e3,
                Double(global) / median))
        let total = profile.phases.reduce(0) { $0 + profile.seconds[$1]! } - (profile.seconds["gathers"] ?? 0)
        for phase in profile.phases {
            let ms = profile.seconds[phase]! / Double(steps) * 1e3
            let note = phase == "gathers" ? "  (inside contrastive and scene loss)" : ""
            print(
                "  " + phase.padding(toLength: 22, withPad: " ", startingAt: 0)
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
