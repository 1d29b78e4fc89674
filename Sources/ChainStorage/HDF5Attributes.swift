import CHDF5

/// The scalar attributes of one HDF5 object (a file's root group or a dataset): integers,
/// doubles and strings (fixed-length, or variable-length as h5py writes them).
public struct HDF5Attributes {
    let object: hid_t
    let location: String
    /// Keeps the file or dataset (and so `object`) open while this value exists.
    let owner: AnyObject

    public func set(_ name: String, _ value: Int64) throws { try Self.set(object, location, name, value) }
    public func set(_ name: String, _ value: Double) throws { try Self.set(object, location, name, value) }
    public func set(_ name: String, _ value: String) throws { try Self.set(object, location, name, value) }
    public func integer(_ name: String) throws -> Int64 { try Self.integer(object, location, name) }
    public func double(_ name: String) throws -> Double { try Self.double(object, location, name) }
    public func string(_ name: String) throws -> String { try Self.string(object, location, name) }
    public func contains(_ name: String) -> Bool { HDF5Library.locked { H5Aexists(object, name) > 0 } }

    static func set(_ object: hid_t, _ location: String, _ name: String, _ value: Int64) throws {
        try withUnsafeBytes(of: value) {
            try write(object, location, name, fileType: chain_h5t_std_i64le(), memoryType: chain_h5t_native_int64(), $0)
        }
    }

    static func set(_ object: hid_t, _ location: String, _ name: String, _ value: Double) throws {
        try withUnsafeBytes(of: value) {
            try write(
                object, location, name, fileType: chain_h5t_ieee_f64le(), memoryType: chain_h5t_native_double(), $0)
        }
    }

    static func set(_ object: hid_t, _ location: String, _ name: String, _ value: String) throws {
        var bytes = Array(value.utf8)
        if bytes.isEmpty { bytes = [0] }
        try HDF5Library.locked {
            let type = H5Tcopy(chain_h5t_c_s1())
            defer { H5Tclose(type) }
            H5Tset_size(type, bytes.count)
            H5Tset_strpad(type, H5T_STR_NULLPAD)
            try bytes.withUnsafeBytes { try writeLocked(object, location, name, fileType: type, memoryType: type, $0) }
        }
    }

    private static func write(
        _ object: hid_t, _ location: String, _ name: String, fileType: hid_t,
        memoryType: hid_t, _ value: UnsafeRawBufferPointer
    ) throws {
        try HDF5Library.locked {
            try writeLocked(object, location, name, fileType: fileType, memoryType: memoryType, value)
        }
    }

    private static func writeLocked(
        _ object: hid_t, _ location: String, _ name: String, fileType: hid_t,
        memoryType: hid_t, _ value: UnsafeRawBufferPointer
    ) throws {
        if H5Aexists(object, name) > 0 { H5Adelete(object, name) }
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        let a = H5Acreate2(object, name, fileType, space, chain_h5p_default(), chain_h5p_default())
        guard a >= 0 else { throw HDF5Error("\(location): cannot create attribute '\(name)'") }
        defer { H5Aclose(a) }
        guard H5Awrite(a, memoryType, value.baseAddress) >= 0 else {
            throw HDF5Error("\(location): cannot write attribute '\(name)'")
        }
    }

    private static func open(_ object: hid_t, _ location: String, _ name: String) throws -> hid_t {
        guard H5Aexists(object, name) > 0 else { throw HDF5Error("\(location): no attribute '\(name)'") }
        let a = H5Aopen(object, name, chain_h5p_default())
        guard a >= 0 else { throw HDF5Error("\(location): cannot open attribute '\(name)'") }
        return a
    }

    static func integer(_ object: hid_t, _ location: String, _ name: String) throws -> Int64 {
        try HDF5Library.locked {
            let a = try open(object, location, name)
            defer { H5Aclose(a) }
            var v: Int64 = 0
            guard H5Aread(a, chain_h5t_native_int64(), &v) >= 0 else {
                throw HDF5Error("\(location): attribute '\(name)' is not an integer")
            }
            return v
        }
    }

    static func double(_ object: hid_t, _ location: String, _ name: String) throws -> Double {
        try HDF5Library.locked {
            let a = try open(object, location, name)
            defer { H5Aclose(a) }
            var v: Double = 0
            guard H5Aread(a, chain_h5t_native_double(), &v) >= 0 else {
                throw HDF5Error("\(location): attribute '\(name)' is not a number")
            }
            return v
        }
    }

    /// Reads fixed-length and variable-length (h5py's default) string attributes.
    static func string(_ object: hid_t, _ location: String, _ name: String) throws -> String {
        try HDF5Library.locked {
            let a = try open(object, location, name)
            defer { H5Aclose(a) }
            let type = H5Aget_type(a)
            defer { H5Tclose(type) }
            guard H5Tget_class(type) == H5T_STRING else {
                throw HDF5Error("\(location): attribute '\(name)' is not a string")
            }
            if H5Tis_variable_str(type) > 0 {
                let memType = H5Tcopy(chain_h5t_c_s1())
                defer { H5Tclose(memType) }
                H5Tset_size(memType, Int(bitPattern: UInt(bitPattern: -1)))  // H5T_VARIABLE
                H5Tset_cset(memType, H5Tget_cset(type))
                var pointer: UnsafeMutablePointer<CChar>? = nil
                guard H5Aread(a, memType, &pointer) >= 0, let pointer else {
                    throw HDF5Error("\(location): cannot read string attribute '\(name)'")
                }
                defer { H5free_memory(pointer) }
                return String(cString: pointer)
            }
            let size = H5Tget_size(type)
            var bytes = [UInt8](repeating: 0, count: size + 1)
            guard H5Aread(a, type, &bytes) >= 0 else { throw HDF5Error("\(location): cannot read attribute '\(name)'") }
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
