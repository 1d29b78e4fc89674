import ArgumentParser
import ChainCLI
import ChainData
import ChainDistributed
import ChainEvaluation
import ChainTraining
import ChainNumerics
import Foundation

/// `chain-encode`: binary codes of every video of a feature file, from a trained checkpoint.
@main
struct ChainEncode: ChainTool {
    static let configuration = CommandConfiguration(
        commandName: "chain-encode",
        abstract: "Encode a feature file (N × T × F) into a code file with a trained checkpoint.",
        discussion: """
            The code file is HDF5: dataset `codes`, uint8, shape (N, bits/8), packed most-significant bit first \
            (numpy.packbits(codes > 0, axis=1)), with an attribute `bits`; with --values also `values`, float32, \
            (N, bits), the real-valued codes (the mean over each video's frames whose sign is the bit). Under mpirun \
            the videos are encoded by all ranks, and rank 0 writes the file.
            """)

    @Option(help: "Checkpoint (runs/<name>/checkpoints/checkpoint-*.h5).") var checkpoint: String
    @Option(help: "HDF5 feature file to encode.") var features: String
    @Option(help: "Dataset inside the feature file.") var key = "feats"
    @Option(help: "Output code file (.h5); written atomically.") var out: String
    @Flag(help: "Also store the real-valued codes (dataset `values`, float32, N × bits).") var values = false

    func run() throws {
        let comm = Communicator.world()
        defer { Communicator.finalize() }
        do {
            let (encoder, run) = try TrainedModel.load(checkpoint: checkpoint, comm: comm)
            let file = try FeatureFile(path: features, key: key)
            let input = encoder.model.config.encoder
            guard file.featureSize == input.inputSize else {
                throw DataError(
                    "\(features): '\(key)' has \(file.featureSize)-d features; the model expects \(input.inputSize)")
            }
            guard file.frames <= input.maxPositions else {
                throw DataError(
                    "\(features): '\(key)' has \(file.frames) frames; the model knows \(input.maxPositions) positions")
            }
            let start = ContinuousClock.now
            let (codes, realValues) =
                values ? try encoder.encodeDistributedWithValues(file) : (try encoder.encodeDistributed(file), [])
            if comm.isRoot {
                try CodeFile.write(
                    codes, values: values ? realValues : nil, to: out,
                    attributes: ["checkpoint": checkpoint, "features": features, "mode": run.model.mode.rawValue])
                print(
                    "\(out): \(codes.count) codes of \(codes.bits) bits from \(features) ("
                        + String(format: "%.1f s", (ContinuousClock.now - start).seconds) + ", \(comm.size) rank(s))")
            }
        } catch {
            throw toolFailure("chain-encode", error, comm: comm)
        }
    }
}
