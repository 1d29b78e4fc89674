import ArgumentParser
import ChainDistributed
import Foundation

/// How every tool ends on an error: `tool[ (rank r)]: message` on standard error; under MPI
/// with other ranks (which may be waiting in a collective), the whole job is aborted; the
/// returned `ExitCode` is what the tool throws.
public func toolFailure(_ tool: String, _ error: Error, comm: Communicator? = nil, status: Int32 = 1) -> ExitCode {
    let ranks = comm?.size ?? 1
    let who = ranks > 1 ? "\(tool) (rank \(comm!.rank))" : tool
    FileHandle.standardError.write(Data("\(who): \(error)\n".utf8))
    if let comm, ranks > 1 { comm.abort(status) }
    return ExitCode(status)
}
