import CHDF5
import Foundation

/// Process-wide HDF5 set-up and serialisation.
///
/// Debian's libhdf5 is built without thread safety, so every call into the library goes
/// through `HDF5Library.locked`. The automatic error-stack printing is switched off: callers
/// turn failures into `HDF5Error`s that name the file and key instead.
public enum HDF5Library {
    private static let lock: NSLock = {
        H5open()
        chain_h5_silence_errors()
        return NSLock()
    }()

    /// Runs `body` holding the library lock.
    @inline(__always)
    public static func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// The linked library's version, e.g. "1.10.8".
    public static var version: String {
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        locked { _ = H5get_libversion(&major, &minor, &release) }
        return "\(major).\(minor).\(release)"
    }
}
