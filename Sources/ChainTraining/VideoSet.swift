import ChainData
import ChainStorage
import Foundation

/// A set of videos held in memory: features [count, frames, F] as float32 (converted from
/// the file's float16/float32/uint8) and, when given, their labels.
public struct VideoSet: Sendable {
    public let features: [Float]
    public let count: Int
    public let frames: Int
    public let featureSize: Int
    public let labels: LabelMatrix?
    public let name: String

    public init(features: [Float], count: Int, frames: Int, featureSize: Int, labels: LabelMatrix?, name: String) {
        precondition(features.count == count * frames * featureSize)
        if let labels { precondition(labels.rows == count) }
        self.features = features; self.count = count; self.frames = frames; self.featureSize = featureSize
        self.labels = labels; self.name = name
    }

    /// The (videos, frames, features) shape of dataset `key` of an HDF5 file, without reading it.
    public static func shape(
        features path: String, key: String = "feats"
    ) throws -> (count: Int, frames: Int, featureSize: Int) {
        let d = try featureDataset(path, key)
        return (d.shape[0], d.shape[1], d.shape[2])
    }

    /// Opens a feature dataset and checks it is a numeric N × T × F array.
    static func featureDataset(_ path: String, _ key: String) throws -> HDF5Dataset {
        let d: HDF5Dataset
        do { d = try HDF5File(path: path).dataset(key) } catch { throw DataError("\(error)") }
        guard d.shape.count == 3 else {
            throw DataError("\(path): '\(key)' has shape \(d.shape); expected (videos, frames, features)")
        }
        guard d.elementType.isNumeric else { throw DataError("\(path): '\(key)' has element type \(d.elementType)") }
        return d
    }

    /// Reads dataset `key` (N × T × F) of an HDF5 file and, optionally, a label file.
    public static func load(
        features path: String, key: String = "feats", labels labelPath: String? = nil,
        labelKeys: [String] = LabelReader.defaultKeys
    ) throws -> VideoSet {
        let d = try featureDataset(path, key)
        let values: [Float]
        do { values = try d.readFloats() } catch { throw DataError("\(error)") }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw DataError("\(path): '\(key)' has a non-finite value in video \(bad / (d.shape[1] * d.shape[2]))")
        }
        let labels = try labelPath.map { try LabelReader.read(path: $0, keys: labelKeys) }
        if let labels, labels.rows != d.shape[0] {
            throw DataError("\(labelPath!): \(labels.rows) label rows for \(d.shape[0]) videos in \(path)")
        }
        return VideoSet(
            features: values, count: d.shape[0], frames: d.shape[1], featureSize: d.shape[2], labels: labels,
            name: URL(fileURLWithPath: path).lastPathComponent)
    }

    /// The videos at `indices`, in that order.
    public func subset(_ indices: [Int], name: String) -> VideoSet {
        let stride = frames * featureSize
        var out = [Float](); out.reserveCapacity(indices.count * stride)
        for i in indices { out += features[(i * stride)..<((i + 1) * stride)] }
        let sub = labels.map { l in
            LabelMatrix(rows: indices.count, classes: l.classes, values: indices.flatMap { Array(l.row($0)) })
        }
        return VideoSet(
            features: out, count: indices.count, frames: frames, featureSize: featureSize, labels: sub, name: name)
    }
}
