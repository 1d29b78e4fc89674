import ArgumentParser
import ChainCLI
import ChainDistributed
import ChainNumerics
import ChainToy
import Foundation

/// `chain-train toy`: the engine's frame-order toy task (seconds), data-parallel under MPI
/// like the real run.
struct Toy: ChainTool {
    static let configuration = CommandConfiguration(
        commandName: "chain-train toy",
        abstract: "Train the engine's frame-order toy task (seconds) instead of CHAIN.")

    @Option(help: "Optimizer steps.") var steps = 800
    @Option(help: "Global batch in clips.") var clips = 64
    @Option(help: "Frames per clip.") var frames = 16
    @Option(name: .customLong("lr"), help: "Peak learning rate.") var learningRate: Float = 3e-3
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Option(help: "Print a progress line every N steps.") var logEvery = 50
    @Option(help: "Fail unless the final frame accuracy reaches this fraction.") var requireAccuracy: Double?

    func validate() throws {
        guard steps > 0 else { throw ValidationError("--steps must be positive (got \(steps))") }
        guard clips > 0 else { throw ValidationError("--clips must be positive (got \(clips))") }
        guard frames >= 2 && frames <= 512 else { throw ValidationError("--frames must be in 2...512 (got \(frames))") }
        guard learningRate > 0 else { throw ValidationError("--lr must be positive (got \(learningRate))") }
        guard logEvery > 0 else { throw ValidationError("--log-every must be positive (got \(logEvery))") }
    }

    func run() throws {
        let comm = Communicator.world()
        defer { Communicator.finalize() }
        if let message = SlurmCheck.mismatch(worldSize: comm.size, environment: ProcessInfo.processInfo.environment) {
            throw toolFailure("chain-train", ValidationError(message), status: 2)
        }
        guard clips % comm.size == 0 else {
            let message = "--clips \(clips) is not divisible by the world size \(comm.size)"
            throw toolFailure("chain-train", ValidationError(message), status: 2)
        }
        var options = ToyTrainer.Options()
        options.steps = steps
        options.globalClips = clips
        options.learningRate = learningRate
        options.seed = seed
        options.warmupSteps = min(20, steps / 10)
        options.toy.frames = frames
        let trainer = ToyTrainer(options)
        let chance = log(Double(frames))
        if comm.isRoot {
            print(
                "chain-train: frame-order toy task · \(comm.size) rank(s) · \(trainer.toy.store.parameterCount) "
                    + "parameters"
            )
            print(
                "  clips/step \(clips) (\(clips / comm.size) per rank) · frames \(frames) · steps \(steps) · "
                    + "chance loss \(String(format: "%.3f", chance))")
        }
        let start = ContinuousClock.now
        func elapsed() -> Double { (ContinuousClock.now - start).seconds }
        let final = trainer.train(comm) { p in
            guard comm.isRoot, p.step % logEvery == 0 || p.step == 1 || p.step == steps else { return }
            print(
                String(
                    format: "  step %5d/%d  loss %.4f  frame accuracy %5.1f%%  lr %.2e  %.0f clips/s",
                    p.step, steps, p.loss, 100 * p.accuracy, p.learningRate,
                    Double(p.step * clips) / max(elapsed(), 1e-9)))
            fflush(nil)
        }
        if comm.isRoot {
            print(
                String(
                    format: "done in %.1f s: loss %.4f (chance %.3f), frame accuracy %.1f%%",
                    elapsed(), final.loss, chance, 100 * final.accuracy))
        }
        if let requireAccuracy, final.accuracy < requireAccuracy {
            if comm.isRoot { print("chain-train: accuracy \(final.accuracy) below the required \(requireAccuracy)") }
            throw ExitCode(1)
        }
    }
}
