import CHDF5

/// An open dataset: its shape, element type, hyperslab reads converting to float32 (or
/// raw bytes), hyperslab writes, and attributes.
public final class HDF5Dataset: @unchecked Sendable {
    public let file: HDF5File
    public let name: String
    public let shape: [Int]
    public let elementType: HDF5ElementType
    let id: hid_t

    init(file: HDF5File, name: String) throws {
        self.file = file
        self.name = name
        (id, shape, elementType) = try HDF5Library.locked {
            let d = H5Dopen2(file.id, name, chain_h5p_default())
            guard d >= 0 else { throw HDF5Error("\(file.path): '\(name)' is not a readable dataset") }
            let space = H5Dget_space(d)
            defer { H5Sclose(space) }
            let rank = Int(H5Sget_simple_extent_ndims(space))
            var dims = [hsize_t](repeating: 0, count: max(rank, 0))
            if rank > 0 { H5Sget_simple_extent_dims(space, &dims, nil) }
            let t = H5Dget_type(d)
            defer { H5Tclose(t) }
            return (d, dims.map { Int($0) }, HDF5ElementType.classify(t))
        }
    }

    deinit { _ = HDF5Library.locked { H5Dclose(id) } }

    /// "path:name", for messages.
    public var location: String { "\(file.path):\(name)" }

    /// Reads the hyperslab [start, start+count) converted to float32 into `buffer`
    /// (count.product floats, row-major). Works for every numeric element type.
    public func read(start: [Int], count: [Int], into buffer: UnsafeMutablePointer<Float>) throws {
        guard elementType == .float16 else {
            try transfer(start: start, count: count, memoryType: chain_h5t_native_float(), buffer: buffer, write: false)
            return
        }
        // HDF5 converts half → float in software at ~90 ns a value; reading the halves as
        // they are stored and widening them here is ~50× faster (exact either way).
        let n = count.reduce(1, *)
        let halves = UnsafeMutablePointer<Float16>.allocate(capacity: max(n, 1))
        defer { halves.deallocate() }
        try withHalfType { try transfer(start: start, count: count, memoryType: $0, buffer: halves, write: false) }
        for i in 0..<n { buffer[i] = Float(halves[i]) }
    }

    /// Runs `body` with a memory type equal to the stored IEEE half type.
    private func withHalfType(_ body: (hid_t) throws -> Void) throws {
        let half = HDF5Library.locked { chain_h5t_make_float16() }
        guard half >= 0 else { throw HDF5Error("\(location): cannot build the float16 memory type") }
        defer { HDF5Library.locked { _ = H5Tclose(half) } }
        try body(half)
    }

    /// The hyperslab as an array of floats.
    public func readFloats(start: [Int]? = nil, count: [Int]? = nil) throws -> [Float] {
        let s = start ?? shape.map { _ in 0 }, c = count ?? shape
        var out = [Float](repeating: 0, count: c.reduce(1, *))
        try out.withUnsafeMutableBufferPointer { try read(start: s, count: c, into: $0.baseAddress!) }
        return out
    }

    /// Reads raw unsigned bytes (for uint8 datasets such as packed codes).
    public func readBytes(start: [Int]? = nil, count: [Int]? = nil) throws -> [UInt8] {
        let s = start ?? shape.map { _ in 0 }, c = count ?? shape
        var out = [UInt8](repeating: 0, count: c.reduce(1, *))
        try out.withUnsafeMutableBufferPointer {
            try transfer(
                start: s, count: c, memoryType: chain_h5t_native_uint8(), buffer: $0.baseAddress!, write: false)
        }
        return out
    }

    /// Writes float32 values into the hyperslab, converting to the dataset's type.
    /// float16 datasets are narrowed here with round-to-nearest-even (as numpy/h5py do).
    public func write(start: [Int], count: [Int], from buffer: UnsafePointer<Float>) throws {
        guard elementType == .float16 else {
            try transfer(
                start: start, count: count, memoryType: chain_h5t_native_float(),
                buffer: UnsafeMutableRawPointer(mutating: buffer), write: true)
            return
        }
        let n = count.reduce(1, *)
        let halves = UnsafeMutablePointer<Float16>.allocate(capacity: max(n, 1))
        defer { halves.deallocate() }
        for i in 0..<n { halves[i] = Float16(buffer[i]) }
        try withHalfType { try transfer(start: start, count: count, memoryType: $0, buffer: halves, write: true) }
    }

    /// Writes raw bytes into the hyperslab (uint8 datasets).
    public func writeBytes(start: [Int], count: [Int], from buffer: UnsafePointer<UInt8>) throws {
        try transfer(
            start: start, count: count, memoryType: chain_h5t_native_uint8(),
            buffer: UnsafeMutableRawPointer(mutating: buffer), write: true)
    }

    private func transfer(
        start: [Int], count: [Int], memoryType: hid_t, buffer: UnsafeMutableRawPointer,
        write: Bool
    ) throws {
        guard start.count == shape.count, count.count == shape.count else {
            throw HDF5Error("\(location): selection of rank \(start.count) for a dataset of shape \(shape)")
        }
        for axis in 0..<shape.count where start[axis] < 0 || count[axis] < 0 || start[axis] + count[axis] > shape[axis]
        {
            throw HDF5Error("\(location): selection start \(start) count \(count) outside shape \(shape)")
        }
        guard elementType.isNumeric else { throw HDF5Error("\(location): element type \(elementType) is not numeric") }
        if count.contains(0) { return }
        try HDF5Library.locked {
            let fileSpace = H5Dget_space(id)
            defer { H5Sclose(fileSpace) }
            let s = start.map { hsize_t($0) }, c = count.map { hsize_t($0) }
            if !shape.isEmpty {
                guard H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, s, nil, c, nil) >= 0 else {
                    throw HDF5Error("\(location): invalid hyperslab start \(start) count \(count)")
                }
            }
            let memSpace = shape.isEmpty ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(c.count), c, nil)
            defer { H5Sclose(memSpace) }
            let status =
                write
                ? H5Dwrite(id, memoryType, memSpace, fileSpace, chain_h5p_default(), buffer)
                : H5Dread(id, memoryType, memSpace, fileSpace, chain_h5p_default(), buffer)
            guard status >= 0 else {
                throw HDF5Error(
                    "\(location): \(write ? "write" : "read") of start \(start) count \(count) failed (corrupt or "
                        + "truncated data?)"
                )
            }
        }
    }

    /// Attributes of this dataset.
    public var attributes: HDF5Attributes { HDF5Attributes(object: id, location: location, owner: self) }
}
