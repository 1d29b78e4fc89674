extension Communicator {
    /// Runs `body` on rank 0 only and broadcasts whether it threw: every rank returns, or
    /// every rank throws (rank 0 its error, the others a `RemoteRankError` with its message),
    /// so no rank is left waiting in a later collective.
    public func onRoot(_ body: () throws -> Void) throws {
        var status: [UInt8] = []
        var failure: Error?
        if isRoot {
            do { try body() } catch { failure = error; status = Array("\(error)".utf8) }
        }
        broadcast(&status)
        if let failure { throw failure }
        if !status.isEmpty { throw RemoteRankError(String(decoding: status, as: UTF8.self)) }
    }

    /// Runs `body` on every rank, then agrees (one all-reduce) on whether any rank failed:
    /// every rank returns, or every rank throws — its own error, or `elsewhere` when the
    /// failure was on another rank.
    public func everyRank(_ body: () throws -> Void, elsewhere: @autoclosure () -> Error) throws {
        var failure: Error?
        do { try body() } catch { failure = error }
        if allReduce(failure == nil ? 0 : 1, .max) > 0 { throw failure ?? elsewhere() }
    }
}
