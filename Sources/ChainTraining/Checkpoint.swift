import CZlib
import ChainData
import ChainNumerics
import ChainStorage
import Foundation

/// Everything an exact continuation needs, in one HDF5 file: parameters, AdamW moments and
/// step count, the sampler position (epoch, next step), every rank's random-generator state,
/// the world size, the run's settings, and a CRC-32 over all of it.
///
/// Files are written atomically (temporary name, fsync, rename, fsync of the folder), so a
/// checkpoint on disk is either complete or absent; `Checkpoint.read` re-computes the checksum
/// and refuses a file whose contents changed.
public struct Checkpoint: Sendable {
    /// What is stored besides the three flat buffers (JSON in the `metadata` attribute).
    public struct Metadata: Codable, Sendable, Equatable {
        public var format = Checkpoint.format
        /// The next step to run.
        public var position: DistributedSampler.Position
        /// Optimizer steps taken so far (= sampler.globalStep(position)).
        public var globalStep: Int
        public var adamStep: Int
        public var worldSize: Int
        public var seed: UInt64
        /// Each rank's generator state (seed, stream, position) at the checkpoint.
        public var randomStates: [[UInt64]]
        /// The run's settings (model, objectives, optimisation, data), as the CLI gives them.
        public var settings: [String: String]
        /// Floats in the flat parameter buffer (alignment padding included).
        public var parameterCount: Int
        public var created: String
        /// The resolved run config (YAML), so tools can rebuild the model from the checkpoint alone.
        public var config: String?

        public init(
            position: DistributedSampler.Position, globalStep: Int, adamStep: Int, worldSize: Int, seed: UInt64,
            randomStates: [[UInt64]], settings: [String: String], parameterCount: Int
        ) {
            self.position = position; self.globalStep = globalStep; self.adamStep = adamStep; self.worldSize = worldSize
            self.seed = seed; self.randomStates = randomStates; self.settings = settings;
            self.parameterCount = parameterCount
            created = ISO8601DateFormatter().string(from: Date())
        }
    }

    public static let format = "chain-checkpoint-1"

    public var metadata: Metadata
    public var parameters: [Float]
    public var firstMoment: [Float]
    public var secondMoment: [Float]

    public init(metadata: Metadata, parameters: [Float], firstMoment: [Float], secondMoment: [Float]) {
        precondition(parameters.count == firstMoment.count && parameters.count == secondMoment.count)
        self.metadata = metadata; self.parameters = parameters; self.firstMoment = firstMoment;
        self.secondMoment = secondMoment
    }

    /// CRC-32 of the three buffers and the metadata text.
    static func checksum(_ buffers: [[Float]], _ metadata: String) -> UInt32 {
        var crc = crc32(0, nil, 0)
        for b in buffers {
            b.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {  // zlib takes 32-bit lengths
                    let n = min(raw.count - offset, 1 << 30)
                    crc = crc32(crc, raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset, uInt(n))
                    offset += n
                }
            }
        }
        let text = Array(metadata.utf8)
        crc = crc32(crc, text, uInt(text.count))
        return UInt32(truncatingIfNeeded: crc)
    }

    /// The file name of the checkpoint taken after `globalStep` steps.
    public static func fileName(globalStep: Int) -> String { String(format: "checkpoint-%09d.h5", globalStep) }

    /// Writes atomically to `path`.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(metadata), as: UTF8.self)
        let crc = Self.checksum([parameters, firstMoment, secondMoment], text)
        let temporary = path + ".partial"
        do {
            let file = try HDF5File(path: temporary, mode: .truncate)
            try file.write("parameters", values: parameters, shape: [parameters.count])
            try file.write("adam_first_moment", values: firstMoment, shape: [firstMoment.count])
            try file.write("adam_second_moment", values: secondMoment, shape: [secondMoment.count])
            try file.attributes.set("format", Self.format)
            try file.attributes.set("metadata", text)
            try file.attributes.set("crc32", Int64(crc))
            try file.flush()
            file.close()
            try Self.fsync(temporary)
            if rename(temporary, path) != 0 {
                throw CheckpointError("\(path): cannot rename the finished checkpoint into place (errno \(errno))")
            }
            try Self.fsync((path as NSString).deletingLastPathComponent)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw CheckpointError("\(path): cannot write the checkpoint: \(error)")
        }
    }

    static func fsync(_ path: String) throws {
        let fd = open(path.isEmpty ? "." : path, O_RDONLY)
        guard fd >= 0 else { throw CheckpointError("\(path): cannot open to fsync (errno \(errno))") }
        defer { close(fd) }
        guard Foundation.fsync(fd) == 0 else { throw CheckpointError("\(path): fsync failed (errno \(errno))") }
    }

    /// Reads and verifies a checkpoint; any damage is an error naming the file.
    public static func read(path: String) throws -> Checkpoint {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError("\(path): no such checkpoint") }
        do {
            let file = try HDF5File(path: path)
            guard (try? file.attributes.string("format")) == format else {
                throw CheckpointError("\(path): not a CHAIN checkpoint (\(format))")
            }
            let text = try file.attributes.string("metadata")
            let stored = UInt32(truncatingIfNeeded: try file.attributes.integer("crc32"))
            let buffers = try ["parameters", "adam_first_moment", "adam_second_moment"].map {
                try file.dataset($0).readFloats()
            }
            guard checksum(buffers, text) == stored else {
                throw CheckpointError("\(path): checksum mismatch (the file is damaged)")
            }
            let metadata = try JSONDecoder().decode(Metadata.self, from: Data(text.utf8))
            guard buffers.allSatisfy({ $0.count == metadata.parameterCount }) else {
                throw CheckpointError(
                    "\(path): buffer sizes do not match the \(metadata.parameterCount) parameters it records")
            }
            return Checkpoint(
                metadata: metadata, parameters: buffers[0], firstMoment: buffers[1], secondMoment: buffers[2])
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw CheckpointError("\(path): unreadable checkpoint: \(error)")
        }
    }

    /// Checkpoint files in `directory`, newest (highest step) first.
    public static func list(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("checkpoint-") && $0.hasSuffix(".h5") }.sorted(by: >)
            .map { (directory as NSString).appendingPathComponent($0) }
    }

    /// The newest checkpoint in `directory` that verifies; damaged ones are reported through
    /// `skipped` and passed over. Nil when there is none.
    public static func newestValid(in directory: String, skipped: (String) -> Void = { _ in }) -> Checkpoint? {
        for path in list(in: directory) {
            do { return try read(path: path) } catch { skipped("\(error)") }
        }
        return nil
    }

    /// Removes all but the newest `keep` checkpoints of `directory`.
    public static func prune(_ directory: String, keep: Int) {
        for path in list(in: directory).dropFirst(max(keep, 1)) { try? FileManager.default.removeItem(atPath: path) }
    }
}
