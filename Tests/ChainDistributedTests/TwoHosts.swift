import ChainTestSupport
import Foundation
import XCTest

/// Two "hosts" made by `launch/netns-hosts` for one test: network namespaces NAME-a and
/// NAME-b joined by a veth pair, with their own host names; torn down (with anything still
/// running in them) by `down()`. `up` throws XCTSkip where namespaces cannot be made (not
/// root), or fails the test when CHAIN_REQUIRE_NETNS=1 (CI).
struct TwoHosts {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardizedFileURL.path
    static var script: String { repository + "/launch/netns-hosts" }
    /// The second host's address, as Open MPI's messages name it.
    static let remoteAddress = "10.77.0.2"

    let name: String

    static func up() throws -> TwoHosts {
        guard TestTools.mpirun != nil else { throw XCTSkip("mpirun not installed") }
        let name = "c\(ProcessInfo.processInfo.processIdentifier % 100_000)\(Int.random(in: 10...99))"
        let (status, output) = try TestTools.run("/bin/bash", [script, "up", name], timeout: 30)
        guard status == 0 else {
            _ = try? TestTools.run("/bin/bash", [script, "down", name])
            let why = "network namespaces could not be made: \(output)"
            if ProcessInfo.processInfo.environment["CHAIN_REQUIRE_NETNS"] == "1" { XCTFail(why) }
            throw XCTSkip(why)
        }
        return TwoHosts(name: name)
    }

    func down() { _ = try? TestTools.run("/bin/bash", [Self.script, "down", name]) }

    /// One of the script's actions on these hosts (crash, cut, impair, link-stats); its output.
    @discardableResult
    func action(_ verb: String, _ arguments: String...) throws -> String {
        let (status, output) = try TestTools.run("/bin/bash", [Self.script, verb, name] + arguments, timeout: 30)
        XCTAssertEqual(status, 0, "netns-hosts \(verb): \(output)")
        return output
    }

    /// The `launch/netns-hosts mpirun` command line for `command` with `perHost` ranks per host.
    func mpirun(_ perHost: Int, _ command: [String]) -> [String] {
        [Self.script, "mpirun", name, "\(perHost)"] + command
    }

    /// Runs `command` under mpirun with `perHost` ranks in each namespace, to its end.
    func run(
        _ perHost: Int, _ command: [String], environment: [String: String] = [:], timeout: TimeInterval = 180
    ) throws -> (Int32, String) {
        try TestTools.run(
            "/bin/bash", mpirun(perHost, command), environment: TestTools.environment(environment), timeout: timeout)
    }

    /// Starts `command` under mpirun across the hosts, in the background.
    func start(_ perHost: Int, _ command: [String], environment: [String: String] = [:]) throws -> TestJob {
        try TestJob("/bin/bash", mpirun(perHost, command), environment: TestTools.environment(environment))
    }

    /// The pids of the processes running on one host ("a" or "b") whose command line contains `text`.
    func processes(on side: String, containing text: String) throws -> [Int32] {
        let (_, pids) = try TestTools.run("/bin/sh", ["-c", "ip netns pids \(name)-\(side)"])
        return pids.split(separator: "\n").compactMap { Int32($0) }.filter { pid in
            let line = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            return line.replacingOccurrences(of: "\0", with: " ").contains(text)
        }
    }
}
