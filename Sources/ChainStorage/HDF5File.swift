import CHDF5
import Foundation

/// An open HDF5 file: look up, create, read and write datasets and attributes.
///
/// Errors are `HDF5Error`s naming the path and key. The file closes when the object is
/// released (or on `close()`); datasets opened from it keep it alive.
public final class HDF5File: @unchecked Sendable {
    public enum Mode: Sendable {
        case readOnly
        case readWrite
        /// Create, replacing any existing file.
        case truncate
        /// Create, failing if the file exists.
        case createExclusive
    }

    public let path: String
    let id: hid_t
    private var isOpen = true

    public init(path: String, mode: Mode = .readOnly) throws {
        self.path = path
        id = try HDF5Library.locked {
            switch mode {
            case .readOnly, .readWrite:
                guard FileManager.default.fileExists(atPath: path) else {
                    throw HDF5Error("\(path): no such file")
                }
                guard H5Fis_hdf5(path) > 0 else { throw HDF5Error("\(path): not an HDF5 file (or truncated/corrupt)") }
                let flags = mode == .readOnly ? chain_h5f_acc_rdonly() : chain_h5f_acc_rdwr()
                let f = H5Fopen(path, flags, chain_h5p_default())
                guard f >= 0 else { throw HDF5Error("\(path): cannot open HDF5 file (corrupt or unreadable)") }
                return f
            case .truncate, .createExclusive:
                let flags = mode == .truncate ? chain_h5f_acc_trunc() : chain_h5f_acc_excl()
                let f = H5Fcreate(path, flags, chain_h5p_default(), chain_h5p_default())
                guard f >= 0 else { throw HDF5Error("\(path): cannot create HDF5 file") }
                return f
            }
        }
    }

    deinit { close() }

    /// Closes the file; further use is an error. Safe to call twice.
    public func close() {
        HDF5Library.locked {
            if isOpen { H5Fclose(id); isOpen = false }
        }
    }

    /// Writes buffered data to disk (`H5Fflush` with global scope).
    public func flush() throws {
        try HDF5Library.locked {
            guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0 else { throw HDF5Error("\(path): flush failed") }
        }
    }

    /// Whether a link (dataset or group) called `name` exists at the root.
    public func contains(_ name: String) -> Bool {
        HDF5Library.locked { H5Lexists(id, name, chain_h5p_default()) > 0 }
    }

    /// Names of the objects in the root group, in creation/name order.
    public func rootNames() -> [String] {
        HDF5Library.locked {
            var names: [String] = []
            var info = H5G_info_t()
            guard H5Gget_info(id, &info) >= 0 else { return [] }
            for i in 0..<info.nlinks {
                let n = H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, chain_h5p_default())
                guard n > 0 else { continue }
                var buffer = [CChar](repeating: 0, count: Int(n) + 1)
                H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buffer, Int(n) + 1, chain_h5p_default())
                names.append(String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            return names
        }
    }

    /// Opens the dataset `name`; the error names the file, the key and what keys exist.
    public func dataset(_ name: String) throws -> HDF5Dataset {
        guard contains(name) else {
            let available = rootNames()
            throw HDF5Error(
                "\(path): no dataset '\(name)' (found: "
                    + "\(available.isEmpty ? "nothing" : available.joined(separator: ", ")))"
            )
        }
        return try HDF5Dataset(file: self, name: name)
    }

    /// Creates a dataset of `shape` and element type. `chunkShape` enables chunking (needed
    /// for compression); `compressionLevel` (0–9) adds the deflate filter with byte shuffle.
    /// No timestamps are stored, so the same writes give a byte-identical file.
    public func createDataset(
        _ name: String, shape: [Int], type: HDF5ElementType,
        chunkShape: [Int]? = nil, compressionLevel: Int? = nil
    ) throws -> HDF5Dataset {
        try HDF5Library.locked {
            let dims = shape.map { hsize_t($0) }
            let space = H5Screate_simple(Int32(dims.count), dims, nil)
            defer { H5Sclose(space) }
            let fileType = type.makeFileType()
            guard fileType >= 0 else { throw HDF5Error("\(path): cannot create '\(name)' with element type \(type)") }
            defer { H5Tclose(fileType) }
            let dcpl = H5Pcreate(chain_h5p_dataset_create())
            defer { H5Pclose(dcpl) }
            H5Pset_obj_track_times(dcpl, false)
            if let chunkShape {
                let chunks = zip(chunkShape, shape).map { hsize_t(max(1, min($0, $1))) }
                H5Pset_chunk(dcpl, Int32(chunks.count), chunks)
                if let level = compressionLevel {
                    H5Pset_shuffle(dcpl)
                    H5Pset_deflate(dcpl, UInt32(level))
                }
            }
            let d = H5Dcreate2(id, name, fileType, space, chain_h5p_default(), dcpl, chain_h5p_default())
            guard d >= 0 else { throw HDF5Error("\(path): cannot create dataset '\(name)' (exists already?)") }
            H5Dclose(d)
        }
        return try HDF5Dataset(file: self, name: name)
    }

    /// Creates a dataset holding `values` (converted to `type` on write).
    @discardableResult
    public func write(
        _ name: String, values: [Float], shape: [Int], type: HDF5ElementType = .float32,
        chunkShape: [Int]? = nil, compressionLevel: Int? = nil
    ) throws -> HDF5Dataset {
        precondition(values.count == shape.reduce(1, *), "write '\(name)': \(values.count) values for \(shape)")
        let d = try createDataset(
            name, shape: shape, type: type, chunkShape: chunkShape, compressionLevel: compressionLevel)
        try values.withUnsafeBufferPointer {
            try d.write(start: shape.map { _ in 0 }, count: shape, from: $0.baseAddress!)
        }
        return d
    }

    /// Attributes of the root group.
    public var attributes: HDF5Attributes { HDF5Attributes(object: id, location: path, owner: self) }
}
