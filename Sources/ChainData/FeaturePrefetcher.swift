import ChainNumerics
import Foundation

/// Streams batches of videos from a feature file in a background thread, double-buffered:
/// while the caller trains on batch k, batch k+1 is being read. For datasets larger than
/// memory; each batch is read with one hyperslab per run of consecutive video indices.
///
/// `next()` hands out batches in the order given at creation and blocks only when the
/// reader has fallen behind. A read error (or a NaN/Inf value) is thrown from the `next()`
/// that would have returned that batch. Deinitialising stops the reader and waits for it.
public final class FeaturePrefetcher: @unchecked Sendable {
    /// The state the background thread works on. The thread drops its reference before it
    /// signals `done`, so the reader (and the HDF5 file it holds) is always released by the
    /// prefetcher's owner — never by the background thread, possibly after the process
    /// began to exit and HDF5 was shut down.
    final class Reader: @unchecked Sendable {
        let file: FeatureFile
        let batches: [[Int]]
        let buffers: [Tensor]
        var errors: [Error?] = [nil, nil]
        let filled = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
        /// Start at 0 and are signalled once in init: libdispatch traps when a semaphore is
        /// freed with a value below its initial value, which an abandoned stream would leave.
        let free = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
        let lock = NSLock()
        var cancelled = false

        init(file: FeatureFile, batches: [[Int]]) {
            self.file = file
            self.batches = batches
            let largest = max(1, batches.map(\.count).max() ?? 1)
            buffers = (0..<2).map { _ in Tensor(shape: [largest, file.videoStride]) }
            free.forEach { $0.signal() }
        }

        var isCancelled: Bool { lock.lock(); defer { lock.unlock() }; return cancelled }

        func readAll() {
            for (k, videos) in batches.enumerated() {
                let slot = k % 2
                free[slot].wait()
                if isCancelled { return }
                do {
                    try file.read(videos: videos, into: buffers[slot].pointer)
                    try file.checkFinite(buffers[slot].pointer, videos: videos)
                    errors[slot] = nil
                } catch {
                    errors[slot] = error
                }
                filled[slot].signal()
            }
        }
    }

    /// Holds the thread's reference to the reader, so the thread can drop it.
    final class Handoff: @unchecked Sendable {
        var reader: Reader?
        init(_ reader: Reader) { self.reader = reader }
    }

    private let reader: Reader
    private let done = DispatchSemaphore(value: 0)
    private var handedOut = 0

    public var file: FeatureFile { reader.file }

    /// Starts reading `batches` (lists of video indices) of `file` in the background.
    public init(file: FeatureFile, batches: [[Int]]) {
        reader = Reader(file: file, batches: batches)
        let handoff = Handoff(reader)
        let done = self.done
        let thread = Thread {
            handoff.reader?.readAll()
            handoff.reader = nil
            done.signal()
        }
        thread.name = "chain.prefetch"
        thread.start()
    }

    deinit {
        reader.lock.lock(); reader.cancelled = true; reader.lock.unlock()
        reader.free.forEach { $0.signal() }  // let the reader pass any wait
        done.wait()
    }

    /// The next batch: its video indices and their features ([videos, copies·T·F] floats),
    /// valid until the following call.
    public func next() throws -> (videos: [Int], features: UnsafePointer<Float>) {
        precondition(
            handedOut < reader.batches.count, "prefetcher: all \(reader.batches.count) batches were handed out")
        if handedOut > 0 { reader.free[(handedOut - 1) % 2].signal() }  // the caller is done with the previous one
        let slot = handedOut % 2
        reader.filled[slot].wait()
        let k = handedOut
        handedOut += 1
        if let error = reader.errors[slot] { throw error }
        return (reader.batches[k], UnsafePointer(reader.buffers[slot].pointer))
    }
}
