import ChainData
import ChainDistributed
import ChainModel
import ChainNumerics
import Foundation

/// A trained model loaded from a checkpoint for encoding (chain-encode, chain-eval): the
/// run config and input shape stored in the checkpoint rebuild the network (no optimizer),
/// rank 0 reads the file and every rank receives the parameters. Collective.
public enum TrainedModel {
    /// `pooling` replaces the stored run's `evaluation.pooling` (nil: keep it).
    public static func load(
        checkpoint path: String, comm: Communicator, pooling: CodePooling? = nil
    ) throws -> (encoder: DistributedEncoder, run: RunConfig) {
        var header: [UInt8] = []
        var checkpoint: Checkpoint?
        if comm.isRoot {
            do {
                let c = try Checkpoint.read(path: path)
                guard let text = c.metadata.config, let frames = c.metadata.settings["data.frames"].flatMap(Int.init),
                    let featureSize = c.metadata.settings["data.feature_size"].flatMap(Int.init)
                else {
                    throw CheckpointError(
                        "\(path): the checkpoint does not record its run config and input shape (written by an older "
                            + "chain-train)"
                    )
                }
                header = Array("ok\n\(frames)\n\(featureSize)\n\(text)".utf8)
                checkpoint = c
            } catch { header = Array("error\n\(error)".utf8) }
        }
        comm.broadcast(&header)
        let text = String(decoding: header, as: UTF8.self)
        let lines = text.split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        guard lines.first == "ok", lines.count == 4, let frames = Int(lines[1]), let featureSize = Int(lines[2]) else {
            throw CheckpointError(lines.dropFirst().joined(separator: "\n"))
        }
        var run = try RunConfig.parse(yaml: lines[3], source: "\(path) (stored run config)")
        if let pooling { run.evaluation.pooling = pooling }
        let config = run.chainConfig(frames: frames, featureSize: featureSize)
        let threads = LaunchEnvironment().computeThreads(requested: run.training.threads, worldSize: comm.size)
        BLAS.threads = 1  // the encoder's own workers are the parallelism
        let model = CHAINModel(config: config, seed: run.training.seed)
        if let checkpoint {
            guard checkpoint.parameters.count == model.store.values.count else {
                throw CheckpointError(
                    "\(path): the checkpoint has \(checkpoint.parameters.count) floats of parameters; "
                        + "its run config builds \(model.store.values.count)")
            }
            checkpoint.parameters.withUnsafeBufferPointer {
                model.store.values.pointer.update(from: $0.baseAddress!, count: $0.count)
            }
        }
        comm.broadcast(model.store.values.buffer)
        let encoder = DistributedEncoder(
            model: model, comm: comm, workers: threads, views: run.evaluation.views, pooling: run.evaluation.pooling)
        return (encoder, run)
    }
}
