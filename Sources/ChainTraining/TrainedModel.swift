import ChainData
import ChainDistributed
import ChainModel
import Foundation

/// A trained model loaded from a checkpoint for encoding (chain-encode, chain-eval): the
/// run config and input shape stored in the checkpoint rebuild the network, rank 0 reads the
/// file and every rank receives the parameters. Collective.
public enum TrainedModel {
    public static func load(checkpoint path: String, comm: Communicator) throws -> (trainer: Trainer, run: RunConfig) {
        var header: [UInt8] = []
        var checkpoint: Checkpoint?
        if comm.isRoot {
            do {
                let c = try Checkpoint.read(path: path)
                guard let text = c.metadata.config, let frames = c.metadata.settings["data.frames"].flatMap(Int.init),
                      let featureSize = c.metadata.settings["data.feature_size"].flatMap(Int.init) else {
                    throw DataError("\(path): the checkpoint does not record its run config and input shape (written by an older chain-train)")
                }
                header = Array("ok\n\(frames)\n\(featureSize)\n\(text)".utf8)
                checkpoint = c
            } catch { header = Array("error\n\(error)".utf8) }
        }
        comm.broadcast(&header)
        let text = String(decoding: header, as: UTF8.self)
        let lines = text.split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        guard lines.first == "ok", lines.count == 4, let frames = Int(lines[1]), let featureSize = Int(lines[2]) else {
            throw DataError(lines.dropFirst().joined(separator: "\n"))
        }
        let run = try RunConfig.parse(yaml: lines[3], source: "\(path) (stored run config)")
        var config = run.chainConfig(frames: frames, featureSize: featureSize)
        config.encoder.maxPositions = max(config.encoder.maxPositions, frames)
        var options = run.trainerOptions
        options.threads = LaunchEnvironment().computeThreads(requested: options.threads, worldSize: comm.size)
        let trainer = Trainer(config: config, options: options, comm: comm)
        _ = try trainer.restore(checkpoint)
        return (trainer, run)
    }
}
