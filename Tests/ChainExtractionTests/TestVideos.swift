import CVision
import Foundation
import XCTest

/// Small videos with known content, written by OpenCV's VideoWriter (or ffmpeg, for pixel
/// formats and timing OpenCV cannot choose), and the tiny ONNX CNN fixtures.
enum TestVideos {
    static func folder(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "chain-extract-tests-\(ProcessInfo.processInfo.processIdentifier)/\(name)"
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes `count` frames; `pixel(frame, x, y)` gives the RGB (or grey) bytes.
    static func write(
        _ path: String, codec: String = "MJPG", count: Int, width: Int, height: Int, channels: Int = 3,
        fps: Double = 25, pixel: (Int, Int, Int) -> [UInt8]
    ) throws {
        var frames = [UInt8]()
        frames.reserveCapacity(count * width * height * channels)
        for f in 0..<count { for y in 0..<height { for x in 0..<width { frames += pixel(f, x, y) } } }
        var error = [CChar](repeating: 0, count: 512)
        let status = chain_video_write(
            path, codec, fps, frames, Int32(count), Int32(width), Int32(height), Int32(channels), &error, error.count)
        guard status == 0 else {
            throw NSError(domain: "TestVideos", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(path): \(error)"])
        }
    }

    /// A video whose frame f is flat grey at level `step · f` (the frame's index can be read back).
    static func numbered(_ path: String, count: Int, step: Int = 6, codec: String = "MJPG") throws {
        try write(path, codec: codec, count: count, width: 16, height: 16) { f, _, _ in
            let v = UInt8(min(255, f * step))
            return [v, v, v]
        }
    }

    static var ffmpeg: String? {
        ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs ffmpeg (skips the test when it is not installed; launch/setup installs it).
    static func ffmpeg(_ arguments: [String]) throws {
        guard let ffmpeg else { throw XCTSkip("ffmpeg not installed (run launch/setup)") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ffmpeg)
        p.arguments = ["-v", "error", "-y"] + arguments
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "ffmpeg \(arguments)")
    }

    static func fixture(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil)!.path
    }
}
