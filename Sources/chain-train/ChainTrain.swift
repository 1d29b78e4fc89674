import ArgumentParser
import ChainDistributed
import ChainNumerics
import ChainToy
import Foundation

/// `chain-train`: the training entry point.
///
/// Until CHAIN's model, data and distributed training land (issues 3–5), this trains the
/// engine's built-in toy task — recovering the order of shuffled frames with a transformer —
/// data-parallel over MPI, so every piece of the engine (layers, flat parameters, AdamW,
/// schedules, all-reduce) runs for real.
@main
struct ChainTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chain-train",
        abstract: "Train a CHAIN model (currently: the engine's frame-order toy task).",
        discussion: """
            Run directly for a single process, or under MPI for data-parallel training:
              chain-train
              mpirun -np 2 chain-train --steps 400
            The global batch is split evenly over the ranks; gradients are averaged with one
            all-reduce per step, so any world size that divides the batch trains the same model.
            """)

    @Option(help: "Optimizer steps.") var steps = 800
    @Option(help: "Global batch size in clips (divisible by the number of ranks).") var clips = 64
    @Option(help: "Frames per clip (the number of positions to recover).") var frames = 16
    @Option(name: .customLong("lr"), help: "Peak learning rate (linear warm-up, cosine decay).") var learningRate: Float = 3e-3
    @Option(help: "Random seed (initialisation and data).") var seed: UInt64 = 1
    @Option(help: "Print a progress line every N steps.") var logEvery = 50
    @Option(help: "Stop with a failure unless final frame accuracy reaches this fraction.") var requireAccuracy: Double?

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
        guard clips % comm.size == 0 else {
            if comm.isRoot {
                FileHandle.standardError.write(Data("chain-train: --clips \(clips) is not divisible by the world size \(comm.size)\n".utf8))
            }
            throw ExitCode(2)
        }
        var options = ToyTrainer.Options()
        options.steps = steps
        options.globalClips = clips
        options.learningRate = learningRate
        options.seed = seed
        options.warmupSteps = min(20, steps / 10)
        options.toy.frames = frames
        let trainer = ToyTrainer(options)
        if comm.isRoot {
            print("chain-train: frame-order toy task · \(comm.size) rank(s) · \(trainer.toy.store.parameterCount) parameters")
            print("  clips/step \(clips) (\(clips / comm.size) per rank) · frames \(frames) · steps \(steps) · chance loss \(String(format: "%.3f", log(Double(frames))))")
        }
        let start = Date()
        let final = trainer.train(comm) { p in
            guard comm.isRoot, p.step % logEvery == 0 || p.step == 1 || p.step == steps else { return }
            let elapsed = Date().timeIntervalSince(start)
            print(String(format: "  step %5d/%d  loss %.4f  frame accuracy %5.1f%%  lr %.2e  %.0f clips/s",
                         p.step, steps, p.loss, 100 * p.accuracy, p.learningRate,
                         Double(p.step * clips) / max(elapsed, 1e-9)))
            fflush(nil)
        }
        if comm.isRoot {
            print(String(format: "done in %.1f s: loss %.4f (chance %.3f), frame accuracy %.1f%%",
                         Date().timeIntervalSince(start), final.loss, log(Double(frames)), 100 * final.accuracy))
        }
        if let requireAccuracy, final.accuracy < requireAccuracy {
            if comm.isRoot { print("chain-train: accuracy \(final.accuracy) below the required \(requireAccuracy)") }
            throw ExitCode(1)
        }
    }
}
