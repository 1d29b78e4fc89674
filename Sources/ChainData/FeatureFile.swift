import ChainStorage
import Foundation

/// An opened, shape-checked HDF5 feature dataset: (N, T, F) per-frame features, or
/// (N, A, T, F) pre-extracted augmented copies. Reads any numeric element type (float16,
/// float32, uint8 as raw values, …) as float32, one hyperslab of whole videos at a time,
/// so a caller never holds more of the file than it asks for.
public struct FeatureFile: Sendable {
    public let path: String
    public let key: String
    public let dataset: HDF5Dataset
    public let count: Int
    /// Augmented copies per video (1 for a plain (N, T, F) dataset).
    public let copies: Int
    public let frames: Int
    public let featureSize: Int

    /// Floats per video (all copies).
    public var videoStride: Int { copies * frames * featureSize }
    public var elementType: HDF5ElementType { dataset.elementType }
    public var isAugmented: Bool { dataset.shape.count == 4 }

    /// Opens `key` in `path`. `augmented` asks for the (N, A, T, F) form; `frames` and
    /// `featureSize`, when given, must match.
    public init(
        path: String, key: String = "feats", augmented: Bool = false, frames: Int? = nil,
        featureSize: Int? = nil
    ) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError("\(path): no such file") }
        let file: HDF5File
        do { file = try HDF5File(path: path) } catch {
            throw DataError("\(path): not an HDF5 file (or unreadable): \(error)")
        }
        do { dataset = try file.dataset(key) } catch { throw DataError("\(error)") }
        let shape = dataset.shape
        let expected = augmented ? "(videos, copies, frames, features)" : "(videos, frames, features)"
        guard shape.count == (augmented ? 4 : 3) else {
            throw DataError("\(path): '\(key)' has shape \(shape); expected \(expected)")
        }
        guard dataset.elementType.isNumeric else {
            throw DataError(
                "\(path): '\(key)' has element type \(dataset.elementType); expected float32, float16 or uint8")
        }
        guard !shape.contains(0) else { throw DataError("\(path): '\(key)' is empty (shape \(shape))") }
        self.path = path
        self.key = key
        count = shape[0]
        copies = augmented ? shape[1] : 1
        self.frames = shape[shape.count - 2]
        self.featureSize = shape[shape.count - 1]
        if let frames, frames != self.frames {
            throw DataError("\(path): '\(key)' has \(self.frames) frames per video; the dataset config says \(frames)")
        }
        if let featureSize, featureSize != self.featureSize {
            throw DataError(
                "\(path): '\(key)' has \(self.featureSize)-d features; the dataset config says \(featureSize)")
        }
    }

    /// Reads videos [first, first + n) into `buffer` (n · videoStride floats).
    public func read(first: Int, count n: Int, into buffer: UnsafeMutablePointer<Float>) throws {
        precondition(first >= 0 && n >= 0 && first + n <= count, "videos \(first)..<\(first + n) outside 0..<\(count)")
        guard n > 0 else { return }
        var start = [first, 0, 0], size = [n, frames, featureSize]
        if isAugmented { start.insert(0, at: 1); size.insert(copies, at: 1) }
        do { try dataset.read(start: start, count: size, into: buffer) } catch {
            throw DataError("\(path): '\(key)': cannot read videos \(first)..<\(first + n): \(error)")
        }
    }

    /// Throws if any of the `n` videos in `buffer` (file videos `indices[k]`, or `first + k`)
    /// holds a NaN or infinity, naming the first such video.
    public func checkFinite(_ buffer: UnsafePointer<Float>, videos indices: [Int]) throws {
        for (k, video) in indices.enumerated() {
            let row = buffer + k * videoStride
            for i in 0..<videoStride where !row[i].isFinite {
                throw DataError("\(path): '\(key)' has a NaN or infinite value in video \(video)")
            }
        }
    }

    /// Reads the videos at `indices` (any order) into consecutive slots of `buffer`,
    /// one hyperslab per run of consecutive indices.
    public func read(videos indices: [Int], into buffer: UnsafeMutablePointer<Float>) throws {
        var k = 0
        while k < indices.count {
            var run = 1
            while k + run < indices.count && indices[k + run] == indices[k] + run { run += 1 }
            try read(first: indices[k], count: run, into: buffer + k * videoStride)
            k += run
        }
    }

    /// The first video (in file order) holding a NaN or infinite value, scanning `chunk`
    /// videos at a time; nil when all are finite.
    public func firstNonFiniteVideo(chunk: Int = 64) throws -> Int? {
        var buffer = [Float](repeating: 0, count: min(chunk, count) * videoStride)
        var first = 0
        while first < count {
            let n = min(chunk, count - first)
            let bad: Int? = try buffer.withUnsafeMutableBufferPointer { b in
                try read(first: first, count: n, into: b.baseAddress!)
                for i in 0..<(n * videoStride) where !b[i].isFinite { return first + i / videoStride }
                return nil
            }
            if let bad { return bad }
            first += n
        }
        return nil
    }
}
