import ArgumentParser
import ChainDistributed
import Foundation

/// How every tool ends on an error: `tool[ (rank r)]: message` on standard error; under MPI
/// with other ranks (which may be waiting in a collective), the whole job is aborted; the
/// returned `ExitCode` is what the tool throws. A `RankFailures` is already known to every
/// rank: rank 0 alone reports it and nothing is aborted, so the job ends cleanly.
public func toolFailure(_ tool: String, _ error: Error, comm: Communicator? = nil, status: Int32 = 1) -> ExitCode {
    if error is RankFailures {
        if comm?.isRoot ?? true { FileHandle.standardError.write(Data("\(tool): \(error)\n".utf8)) }
        return ExitCode(status)
    }
    let ranks = comm?.size ?? 1
    let who = ranks > 1 ? "\(tool) (rank \(comm!.rank))" : tool
    FileHandle.standardError.write(Data("\(who): \(error)\n".utf8))
    if let comm, ranks > 1 { comm.abort(status) }
    return ExitCode(status)
}
