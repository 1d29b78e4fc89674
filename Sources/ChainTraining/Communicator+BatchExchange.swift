import ChainDistributed
import ChainModel

/// The MPI world as the objectives' `BatchExchange`: gathers and their adjoint go through
/// MPI collectives.
extension Communicator: BatchExchange {
    public var worldSize: Int { size }
    public func allGatherCounts(_ value: Int) -> [Int] { allGather(value) }
}
