import CMPI
import Foundation

/// A reduction applied element-wise by collectives.
public enum ReductionOp: Sendable {
    case sum, max, min

    var mpi: MPI_Op {
        switch self {
        case .sum: chain_mpi_op_sum()
        case .max: chain_mpi_op_max()
        case .min: chain_mpi_op_min()
        }
    }
}

/// The MPI world: this process's rank, the world size and the collectives training needs,
/// over flat buffers.
///
/// Like Horovod's, it knows nothing about models: callers pass the flat parameter or
/// gradient buffer. A plain process (no mpirun) is a valid world of size 1, in which every
/// collective is a local copy. MPI errors are fatal for the whole job (MPI's default), so a
/// failing rank never leaves the others hanging in a collective; a lost link, which MPI
/// would wait on for many minutes, is bounded by an optional `CollectiveWatchdog`.
public final class Communicator: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    let comm: MPI_Comm
    /// Bounds how long any one collective may wait (nil: unbounded). Set once, before training.
    public var watchdog: CollectiveWatchdog?

    private nonisolated(unsafe) static var shared: Communicator?
    private static let initLock = NSLock()

    private init(comm: MPI_Comm) {
        self.comm = comm
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &s)
        rank = Int(r)
        size = Int(s)
    }

    /// The world communicator; initialises MPI on first use (thread level FUNNELED: only
    /// the thread that initialised MPI calls it).
    public static func world() -> Communicator {
        initLock.lock()
        defer { initLock.unlock() }
        if let shared { return shared }
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            var provided: Int32 = 0
            MPI_Init_thread(nil, nil, chain_mpi_thread_funneled(), &provided)
        }
        let c = Communicator(comm: chain_mpi_comm_world())
        shared = c
        return c
    }

    /// A world of one holding only this process (MPI_COMM_SELF): runs a single-process
    /// computation inside a multi-rank job, e.g. a reference for an equivalence check.
    public static var local: Communicator {
        _ = world()
        return Communicator(comm: chain_mpi_comm_self())
    }

    /// Whether this is rank 0, which logs, checkpoints and evaluates.
    public var isRoot: Bool { rank == 0 }

    // MARK: Reductions

    /// In-place element-wise reduction across all ranks.
    public func allReduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReductionOp = .sum) {
        guard size > 1, buffer.count > 0 else { return }
        watched("MPI_Allreduce") {
            MPI_Allreduce(
                chain_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), chain_mpi_float(), op.mpi, comm)
        }
    }

    /// In-place element-wise reduction of doubles.
    public func allReduce(_ buffer: UnsafeMutableBufferPointer<Double>, _ op: ReductionOp = .sum) {
        guard size > 1, buffer.count > 0 else { return }
        watched("MPI_Allreduce") {
            MPI_Allreduce(
                chain_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), chain_mpi_double(), op.mpi, comm)
        }
    }

    /// The reduction of one value over all ranks.
    public func allReduce(_ value: Double, _ op: ReductionOp = .sum) -> Double {
        var v = value
        withUnsafeMutablePointer(to: &v) { allReduce(UnsafeMutableBufferPointer(start: $0, count: 1), op) }
        return v
    }

    /// The reduction of one integer over all ranks.
    public func allReduce(_ value: Int, _ op: ReductionOp = .sum) -> Int {
        guard size > 1 else { return value }
        var v = Int64(value)
        watched("MPI_Allreduce") {
            MPI_Allreduce(chain_mpi_in_place(), &v, 1, chain_mpi_int64(), op.mpi, comm)
        }
        return Int(v)
    }

    // MARK: Gathers and their adjoint

    /// Concatenates every rank's `send` (all the same length) in rank order into `receive`
    /// (size·send.count floats) on every rank.
    public func allGather(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>) {
        precondition(receive.count == send.count * size, "allGather: receive \(receive.count) != \(size)×\(send.count)")
        if size == 1 {
            if send.count > 0 { receive.baseAddress!.update(from: send.baseAddress!, count: send.count) }; return
        }
        watched("MPI_Allgather") {
            MPI_Allgather(
                send.baseAddress, Int32(send.count), chain_mpi_float(),
                receive.baseAddress, Int32(send.count), chain_mpi_float(), comm)
        }
    }

    /// All-gather with per-rank lengths `counts` (identical on every rank).
    public func allGather(
        _ send: UnsafeBufferPointer<Float>, counts: [Int], into receive: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(counts.count == size && counts[rank] == send.count, "allGather: counts \(counts) do not match")
        precondition(receive.count == counts.reduce(0, +), "allGather: receive has \(receive.count) floats")
        if size == 1 {
            if send.count > 0 { receive.baseAddress!.update(from: send.baseAddress!, count: send.count) }; return
        }
        let displacements = Self.displacements(counts)
        let c = counts.map { Int32($0) }
        watched("MPI_Allgatherv") {
            MPI_Allgatherv(
                send.baseAddress, Int32(send.count), chain_mpi_float(),
                receive.baseAddress, c, displacements, chain_mpi_float(), comm)
        }
    }

    /// Personalised exchange (MPI_Alltoallv): block d of `send` (sendCounts[d] floats, blocks
    /// consecutive in rank order) goes to rank d; block s of `receive` comes from rank s.
    public func allToAll(
        _ send: UnsafeBufferPointer<Float>, sendCounts: [Int],
        into receive: UnsafeMutableBufferPointer<Float>, receiveCounts: [Int]
    ) {
        precondition(sendCounts.count == size && receiveCounts.count == size, "allToAll: one count per rank")
        precondition(
            send.count >= sendCounts.reduce(0, +) && receive.count >= receiveCounts.reduce(0, +),
            "allToAll: buffers smaller than their counts")
        if size == 1 {
            if sendCounts[0] > 0 { receive.baseAddress!.update(from: send.baseAddress!, count: sendCounts[0]) }
            return
        }
        precondition(
            max(sendCounts.reduce(0, +), receiveCounts.reduce(0, +)) < Int(Int32.max), "allToAll: over 2³¹ floats")
        watched("MPI_Alltoallv") {
            MPI_Alltoallv(
                send.baseAddress, sendCounts.map { Int32($0) }, Self.displacements(sendCounts), chain_mpi_float(),
                receive.baseAddress, receiveCounts.map { Int32($0) }, Self.displacements(receiveCounts),
                chain_mpi_float(), comm)
        }
    }

    /// Every rank's `value`, in rank order.
    public func allGather(_ value: Int) -> [Int] {
        guard size > 1 else { return [value] }
        var mine = Int64(value)
        var all = [Int64](repeating: 0, count: size)
        watched("MPI_Allgather") {
            MPI_Allgather(&mine, 1, chain_mpi_int64(), &all, 1, chain_mpi_int64(), comm)
        }
        return all.map { Int($0) }
    }

    /// The adjoint of `allGather`: every rank holds a gradient for the whole gathered tensor
    /// (size·n floats); rank r receives the sum over ranks of block r (n floats).
    public func reduceScatter(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>) {
        precondition(
            send.count == receive.count * size, "reduceScatter: send \(send.count) != \(size)×\(receive.count)")
        if size == 1 {
            if receive.count > 0 { receive.baseAddress!.update(from: send.baseAddress!, count: receive.count) }; return
        }
        watched("MPI_Reduce_scatter_block") {
            MPI_Reduce_scatter_block(
                send.baseAddress, receive.baseAddress, Int32(receive.count), chain_mpi_float(),
                chain_mpi_op_sum(), comm)
        }
    }

    // MARK: Broadcast and synchronisation

    /// Copies `root`'s buffer to every rank.
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int = 0) {
        guard size > 1, buffer.count > 0 else { return }
        watched("MPI_Bcast") {
            MPI_Bcast(buffer.baseAddress, Int32(buffer.count), chain_mpi_float(), Int32(root), comm)
        }
    }

    /// Copies `root`'s bytes to every rank (other ranks' arrays are resized to match).
    public func broadcast(_ bytes: inout [UInt8], root: Int = 0) {
        guard size > 1 else { return }
        var n = Int64(bytes.count)
        watched("MPI_Bcast") {
            MPI_Bcast(&n, 1, chain_mpi_int64(), Int32(root), comm)
        }
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(n)) }
        if n > 0 { watched("MPI_Bcast") { MPI_Bcast(&bytes, Int32(n), chain_mpi_uint8(), Int32(root), comm) } }
    }

    /// Waits until every rank has arrived.
    public func barrier() {
        guard size > 1 else { return }
        watched("MPI_Barrier") {
            MPI_Barrier(comm)
        }
    }

    /// Concatenates every rank's bytes (any lengths) in rank order, on every rank.
    public func allGather(_ bytes: [UInt8]) -> [[UInt8]] {
        guard size > 1 else { return [bytes] }
        let counts = allGather(bytes.count)
        let displacements = Self.displacements(counts)
        var all = [UInt8](repeating: 0, count: max(1, counts.reduce(0, +)))
        var mine = bytes.isEmpty ? [0] : bytes
        watched("MPI_Allgatherv") {
            MPI_Allgatherv(
                &mine, Int32(bytes.count), chain_mpi_uint8(), &all, counts.map { Int32($0) }, displacements,
                chain_mpi_uint8(), comm)
        }
        return (0..<size).map { r in Array(all[Int(displacements[r])..<Int(displacements[r]) + counts[r]]) }
    }

    /// Where each rank's block starts in a concatenation of blocks of `counts` elements.
    static func displacements(_ counts: [Int]) -> [Int32] {
        var offsets = [Int32](repeating: 0, count: counts.count)
        for r in counts.indices.dropFirst() { offsets[r] = offsets[r - 1] + Int32(counts[r - 1]) }
        return offsets
    }

    /// Runs one blocking collective under the watchdog, if there is one.
    @inline(__always)
    func watched<T>(_ operation: String, _ body: () -> T) -> T {
        guard let watchdog else { return body() }
        watchdog.arm(operation)
        defer { watchdog.disarm() }
        return body()
    }

    /// Ends the whole job (every rank) with `code`.
    public func abort(_ code: Int32) -> Never {
        MPI_Abort(comm, code)
        exit(code)
    }

    /// Shuts MPI down; call once at normal exit.
    public static func finalize() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized != 0 && finalized == 0 { MPI_Finalize() }
    }
}
