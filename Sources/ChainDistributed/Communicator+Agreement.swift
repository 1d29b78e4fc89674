extension Communicator {
    /// Runs `body` on every rank, then gathers every rank's outcome (one all-gather of the
    /// error messages): every rank returns its result, or every rank throws the same
    /// `RankFailures`, naming each failed rank, its host and its error. `partialNote` is added
    /// when only some ranks failed — for steps, such as reading files, where all ranks are
    /// expected to agree. Collective; in a world of one, `body`'s own error is thrown.
    public func agree<T>(partialNote: String? = nil, _ body: () throws -> T) throws -> T {
        var outcome: Result<T, Error>
        guard size > 1 else { return try body() }
        do { outcome = .success(try body()) } catch { outcome = .failure(error) }
        var mine: [UInt8] = []
        if case .failure(let error) = outcome { mine = Array("\(HostName.current)\n\(error)".utf8) }
        let all = allGather(mine)
        let failures = all.enumerated().compactMap { rank, bytes -> RankFailures.Failure? in
            guard !bytes.isEmpty else { return nil }
            let text = String(decoding: bytes, as: UTF8.self)
            let host = text.prefix { $0 != "\n" }
            return .init(rank: rank, host: String(host), message: String(text.dropFirst(host.count + 1)))
        }
        if !failures.isEmpty {
            throw RankFailures(failures: failures, worldSize: size, partialNote: partialNote)
        }
        return try outcome.get()
    }
}
