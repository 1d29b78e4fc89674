import Foundation

/// What the launcher tells a rank about its placement: local rank and ranks on this node
/// (Open MPI, then SLURM, then PMIx variables), the host and the SLURM job. Rank and world
/// size themselves always come from MPI.
public struct LaunchEnvironment: Sendable {
    public let localRank: Int?
    public let localSize: Int?
    public let host: String
    public let job: String?

    public init(_ environment: [String: String] = ProcessInfo.processInfo.environment) {
        func first(_ keys: [String]) -> Int? { keys.lazy.compactMap { environment[$0].flatMap { Int($0) } }.first }
        localRank = first(["OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "PMIX_LOCAL_RANK"])
        localSize = first(["OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE", "PMIX_LOCAL_SIZE"])
        host = ProcessInfo.processInfo.hostName
        job = environment["SLURM_JOB_ID"].map { id in
            environment["SLURM_RESTART_COUNT"].map { "\(id) (restart \($0))" } ?? id
        }
    }

    /// Ranks sharing this node's memory: the launcher's local size, else the whole world.
    public func ranksPerNode(worldSize: Int) -> Int { max(1, min(localSize ?? worldSize, worldSize)) }

    /// Compute threads for one rank: `requested` when positive, else this node's cores
    /// divided by its ranks (at least 1). `training.threads: 0` resolves through this.
    public func computeThreads(requested: Int, worldSize: Int) -> Int {
        requested > 0
            ? requested : max(1, ProcessInfo.processInfo.activeProcessorCount / ranksPerNode(worldSize: worldSize))
    }

    public var description: String {
        var parts = ["host \(host)"]
        if let localSize { parts.append("\(localSize) rank(s) per node") }
        if let job { parts.append("SLURM job \(job)") }
        return parts.joined(separator: ", ")
    }
}
