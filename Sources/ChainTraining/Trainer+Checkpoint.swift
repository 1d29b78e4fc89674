import ChainData
import ChainDistributed
import Foundation

extension Trainer {
    /// A checkpoint of the state after `event` (collective: every rank's generator state is
    /// gathered); non-nil on rank 0 only.
    public func checkpoint(after event: StepEvent, settings: [String: String], config: String? = nil) -> Checkpoint? {
        let next = event.next
        let state = stepRandom(epoch: next.epoch, step: next.step, rank: comm.rank).state
        let seeds = comm.allGather(Int(bitPattern: UInt(state.seed)))
        let streams = comm.allGather(Int(bitPattern: UInt(state.stream)))
        let positions = comm.allGather(Int(bitPattern: UInt(state.position)))
        guard comm.isRoot else { return nil }
        let states = (0..<comm.size).map {
            [
                UInt64(bitPattern: Int64(seeds[$0])), UInt64(bitPattern: Int64(streams[$0])),
                UInt64(bitPattern: Int64(positions[$0])),
            ]
        }
        var metadata = Checkpoint.Metadata(
            position: next, globalStep: event.globalStep, adamStep: optimizer.step,
            worldSize: comm.size, seed: options.seed, randomStates: states, settings: settings,
            parameterCount: model.store.values.count)
        metadata.config = config
        return Checkpoint(
            metadata: metadata, parameters: model.store.values.toArray(),
            firstMoment: optimizer.firstMoment.toArray(), secondMoment: optimizer.secondMoment.toArray())
    }

    /// Loads `checkpoint` (given on rank 0; ignored elsewhere) into every rank: parameters,
    /// AdamW moments and step are broadcast from rank 0. Returns the position to resume from.
    public func restore(_ checkpoint: Checkpoint?) throws -> DistributedSampler.Position {
        var header: [UInt8] = []
        if comm.isRoot {
            guard let checkpoint else { preconditionFailure("restore: rank 0 needs the checkpoint") }
            guard checkpoint.metadata.parameterCount == model.store.values.count else {
                throw CheckpointError(
                    "the checkpoint has \(checkpoint.metadata.parameterCount) floats of parameters; this model has "
                        + "\(model.store.values.count) (different settings?)"
                )
            }
            header = Array(try JSONEncoder().encode(checkpoint.metadata))
            checkpoint.parameters.withUnsafeBufferPointer {
                model.store.values.pointer.update(from: $0.baseAddress!, count: $0.count)
            }
            checkpoint.firstMoment.withUnsafeBufferPointer {
                optimizer.firstMoment.pointer.update(from: $0.baseAddress!, count: $0.count)
            }
            checkpoint.secondMoment.withUnsafeBufferPointer {
                optimizer.secondMoment.pointer.update(from: $0.baseAddress!, count: $0.count)
            }
        }
        comm.broadcast(&header)
        let metadata = try JSONDecoder().decode(Checkpoint.Metadata.self, from: Data(header))
        comm.broadcast(model.store.values.buffer)
        comm.broadcast(optimizer.firstMoment.buffer)
        comm.broadcast(optimizer.secondMoment.buffer)
        optimizer.step = metadata.adamStep
        return metadata.position
    }
}
