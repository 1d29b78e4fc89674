import ChainNumerics
import Foundation

/// Streams batches of videos from a feature file in a background thread, double-buffered:
/// while the caller trains on batch k, batch k+1 is being read. For datasets larger than
/// memory; each batch is read with one hyperslab per run of consecutive video indices.
///
/// `next()` hands out batches in the order given at creation and blocks only when the
/// reader has fallen behind. A read error is thrown from the `next()` that would have
/// returned that batch. Deinitialising stops the reader.
public final class FeaturePrefetcher: @unchecked Sendable {
    public let file: FeatureFile
    private let batches: [[Int]]
    private let buffers: [Tensor]
    private var errors: [Error?] = [nil, nil]
    private let filled = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
    private let free = [DispatchSemaphore(value: 1), DispatchSemaphore(value: 1)]
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var cancelled = false
    private var handedOut = 0
    private var thread: Thread?

    /// Starts reading `batches` (lists of video indices) of `file` in the background.
    public init(file: FeatureFile, batches: [[Int]]) {
        self.file = file
        self.batches = batches
        let largest = max(1, batches.map(\.count).max() ?? 1)
        buffers = (0..<2).map { _ in Tensor(shape: [largest, file.videoStride]) }
        let thread = Thread { [unowned self] in self.readAll() }
        thread.name = "chain.prefetch"
        self.thread = thread
        thread.start()
    }

    deinit {
        lock.lock(); cancelled = true; lock.unlock()
        // Let the reader pass any wait, then wait for it to finish.
        free.forEach { $0.signal() }
        done.wait()
    }

    private var isCancelled: Bool { lock.lock(); defer { lock.unlock() }; return cancelled }

    private func readAll() {
        defer { done.signal() }
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

    /// The next batch: its video indices and their features ([videos, copies·T·F] floats),
    /// valid until the following call.
    public func next() throws -> (videos: [Int], features: UnsafePointer<Float>) {
        precondition(handedOut < batches.count, "prefetcher: all \(batches.count) batches were handed out")
        if handedOut > 0 { free[(handedOut - 1) % 2].signal() }   // the caller is done with the previous one
        let slot = handedOut % 2
        filled[slot].wait()
        let k = handedOut
        handedOut += 1
        if let error = errors[slot] { throw error }
        return (batches[k], UnsafePointer(buffers[slot].pointer))
    }
}
