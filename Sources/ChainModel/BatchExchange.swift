/// How the objectives reach the global batch: gathers of per-rank rows and the gather's
/// adjoint (summing gradients back to the rows' owners).
///
/// The model layer knows nothing about MPI: a single process uses `SingleProcessExchange`,
/// and the training layer makes the MPI communicator conform. Rows are gathered in rank
/// order; every rank must call each method in the same order (they are collectives).
public protocol BatchExchange: AnyObject {
    var rank: Int { get }
    var worldSize: Int { get }
    /// Concatenates every rank's equal-length `local` into `global` (worldSize·local.count).
    func allGather(_ local: UnsafeBufferPointer<Float>, into global: UnsafeMutableBufferPointer<Float>)
    /// Concatenates every rank's `local` (lengths `counts`, identical on all ranks).
    func allGather(_ local: UnsafeBufferPointer<Float>, counts: [Int], into global: UnsafeMutableBufferPointer<Float>)
    /// Every rank's `value`, in rank order.
    func allGatherCounts(_ value: Int) -> [Int]
    /// The gather's adjoint: rank r receives Σ over ranks of block r of `global`.
    func reduceScatter(_ global: UnsafeBufferPointer<Float>, into local: UnsafeMutableBufferPointer<Float>)
}

/// A world of one: gathers are copies.
public final class SingleProcessExchange: BatchExchange {
    public init() {}
    public var rank: Int { 0 }
    public var worldSize: Int { 1 }
    public func allGather(_ local: UnsafeBufferPointer<Float>, into global: UnsafeMutableBufferPointer<Float>) {
        _ = global.initialize(fromContentsOf: local)
    }
    public func allGather(
        _ local: UnsafeBufferPointer<Float>, counts: [Int], into global: UnsafeMutableBufferPointer<Float>
    ) {
        _ = global.initialize(fromContentsOf: local)
    }
    public func allGatherCounts(_ value: Int) -> [Int] { [value] }
    public func reduceScatter(_ global: UnsafeBufferPointer<Float>, into local: UnsafeMutableBufferPointer<Float>) {
        _ = local.initialize(fromContentsOf: global)
    }
}
