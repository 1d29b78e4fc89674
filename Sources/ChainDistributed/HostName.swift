import Foundation

/// This machine's host name as the kernel reports it (gethostname, no DNS lookup), for
/// messages that say which node a rank runs on.
public enum HostName {
    public static var current: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown host" }
        return String(cString: buffer)
    }
}
