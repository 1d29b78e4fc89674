import Foundation
import SwiftProtobuf

/// A TensorBoard event file in a run folder, so that `tensorboard --logdir runs` shows every
/// run: `events.out.tfevents.<seconds>.<host>.<pid>.chain`, TFRecord framing around
/// `Tensorboard_Event` messages (the first one "brain.Event:2"), one event of scalar values
/// per call, flushed as written. A resumed run opens a new file in the same folder, which
/// TensorBoard reads together with the earlier ones.
public final class TensorBoardWriter {
    public let path: String
    private let handle: FileHandle

    /// Creates the file in `directory` and writes its version record.
    public init(directory: String, now: Double = Date().timeIntervalSince1970) throws {
        let name = "events.out.tfevents.\(Int(now)).\(Self.host).\(getpid()).chain"
        path = (directory as NSString).appendingPathComponent(name)
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        var version = Tensorboard_Event()
        version.wallTime = now
        version.fileVersion = "brain.Event:2"
        try write(version)
    }

    deinit { try? handle.close() }

    /// One event holding `values` (tag → value) at global step `step`.
    public func scalars(
        _ values: [(tag: String, value: Double)], step: Int, wallTime: Double = Date().timeIntervalSince1970
    ) throws {
        guard !values.isEmpty else { return }
        var event = Tensorboard_Event()
        event.wallTime = wallTime
        event.step = Int64(step)
        event.summary.value = values.map { tag, value in
            var v = Tensorboard_Summary.Value()
            v.tag = tag
            v.simpleValue = Float(value)
            return v
        }
        try write(event)
    }

    private func write(_ event: Tensorboard_Event) throws {
        try handle.write(contentsOf: TFRecord.frame(try event.serializedData()))
    }

    /// The events of an event file, each record checked against its CRCs.
    public static func read(path: String) throws -> [Tensorboard_Event] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TFRecordError("\(path): cannot read")
        }
        return try TFRecord.records(in: data, source: path).map { try Tensorboard_Event(serializedBytes: $0) }
    }

    /// The host name for the file name (TensorBoard's convention), without dots.
    static var host: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "host" }
        return String(cString: buffer).replacingOccurrences(of: ".", with: "_")
    }
}
