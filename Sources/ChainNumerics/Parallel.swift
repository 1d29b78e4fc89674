import Dispatch

/// Fork-join over a few worker threads (libdispatch's thread pool).
public enum Parallel {
    /// Runs body(0..<count) concurrently and returns when all have finished; count 1 runs
    /// inline on the calling thread. The iterations must write disjoint memory (the kernels
    /// work through raw pointers, which the compiler cannot check for races, hence the cast
    /// to a Sendable closure).
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 {
            if count == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let shared = unsafeBitCast(escapable, to: (@Sendable (Int) -> Void).self)
            DispatchQueue.concurrentPerform(iterations: count, execute: shared)
        }
    }

    /// The sub-range of 0..<total that part `index` of `parts` takes (sizes differ by ≤ 1).
    public static func share(_ index: Int, of parts: Int, total: Int) -> Range<Int> {
        (index * total / parts)..<((index + 1) * total / parts)
    }
}
