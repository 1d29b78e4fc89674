import ArgumentParser
import ChainDistributed
import ChainModel
import ChainNumerics

/// The gradient all-reduce alone: MPI_Allreduce (sum) of a float buffer, median of --runs.
struct AllReduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce", abstract: "Time MPI_Allreduce of a gradient-sized buffer (run under mpirun).")
    @Option(help: "Floats (default: the CHAIN FCVID model's flat parameter buffer).") var floats = 0
    @Option(help: "Timed runs.") var runs = 30

    func run() {
        let comm = Communicator.world()
        defer { Communicator.finalize() }
        let count =
            floats > 0
            ? floats : CHAINModel(config: CHAINConfig(featureSize: 4096, maxFrames: 25), seed: 1).store.values.count
        let buffer = Tensor(shape: [count])
        buffer.fill(1)
        var times: [Double] = []
        for r in 0..<(runs + 3) {
            comm.barrier()
            let t = ContinuousClock.now
            comm.allReduce(buffer.buffer)
            if r >= 3 { times.append((ContinuousClock.now - t).seconds) }
        }
        var worst = times
        worst.withUnsafeMutableBufferPointer { p in
            p.withMemoryRebound(to: Double.self) { comm.allReduce($0, .max) }
        }
        guard comm.rank == 0 else { return }
        worst.sort()
        let median = worst[worst.count / 2]
        print(
            String(
                format:
                    "all-reduce of %d floats (%.1f MB) over %d ranks: median %.2f ms (slowest rank per run), %.2f "
                    + "GB/s algorithm bandwidth",
                count, Double(count * 4) / 1e6, comm.size, median * 1e3, Double(count * 4) / median / 1e9))
    }
}
