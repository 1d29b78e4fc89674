import CVision
import ChainExtraction
import Foundation
import XCTest

/// Decoding and frame sampling: which frames a clip keeps, containers, codecs, sizes, pixel
/// formats, frame rates, and the errors for files that are not usable videos.
final class VideoDecodingTests: XCTestCase {
    let unit = try! Normalization(mean: [0, 0, 0], standardDeviation: [1, 1, 1])

    /// The grey level (0–255) of each prepared frame's centre: which source frame it is.
    func levels(_ clip: DecodedClip, size: Int = 8) throws -> [Int] {
        var values = [Float](repeating: 0, count: clip.frames * 3 * size * size)
        try values.withUnsafeMutableBufferPointer {
            try clip.prepare(transform: nil, size: size, normalization: unit, into: $0.baseAddress!)
        }
        let plane = size * size
        return (0..<clip.frames).map { Int((values[$0 * 3 * plane + plane / 2 + size / 2] * 255).rounded()) }
    }

    /// The rule: sample i of T is frame floor((i + 1/2) · n / T).
    func expectedIndices(frames n: Int, samples t: Int) -> [Int] {
        (0..<t).map { min(n - 1, Int((Double($0) + 0.5) * Double(n) / Double(t))) }
    }

    func testSamplesAreTheCentresOfEqualSegments() throws {
        let folder = try TestVideos.folder("sampling")
        for (n, t) in [(40, 10), (25, 25), (7, 3), (4, 10), (1, 5)] {
            let path = folder + "/v\(n).avi"
            try TestVideos.numbered(path, count: n)
            let clip = try DecodedClip(path: path, frames: t)
            XCTAssertEqual(clip.info.decoded_frames, Int64(n))
            XCTAssertEqual(clip.frames, t)
            let read = try levels(clip)
            let expected = expectedIndices(frames: n, samples: t).map { $0 * 6 }
            for (a, b) in zip(read, expected) { XCTAssertEqual(a, b, accuracy: 3, "n \(n), T \(t): \(read)") }
        }
    }

    /// OpenCV's writer rounds sizes to even numbers; odd sizes are made by ffmpeg below.
    func testContainersCodecsAndGrey() throws {
        let folder = try TestVideos.folder("codecs")
        let cases: [(String, String, Int, Int, Int)] = [
            ("a.mp4", "mp4v", 34, 18, 3), ("b.avi", "MJPG", 30, 22, 3), ("c.mkv", "FFV1", 30, 20, 3),
            ("d.webm", "VP80", 40, 30, 3), ("e.avi", "MJPG", 32, 24, 1), ("f.mkv", "FFV1", 18, 14, 1),
        ]
        for (name, codec, width, height, channels) in cases {
            let path = folder + "/" + name
            try TestVideos.write(path, codec: codec, count: 12, width: width, height: height, channels: channels) {
                f, x, _ in
                channels == 3 ? [UInt8(f * 20), UInt8(x * 4), 128] : [UInt8(f * 20)]
            }
            let clip = try DecodedClip(path: path, frames: 6)
            XCTAssertEqual(clip.info.decoded_frames, 12, name)
            XCTAssertEqual([Int(clip.info.width), Int(clip.info.height)], [width, height], name)
            XCTAssertEqual(clip.info.duration_seconds, 12.0 / 25, accuracy: 1e-6, name)
        }
    }

    func testOddSizesPixelFormatsVariableFrameRateLongAndTruncatedVideos() throws {
        let folder = try TestVideos.folder("ffmpeg")
        let source = ["-f", "lavfi", "-t", "2", "-i", "testsrc=size=34x26:rate=25"]
        let odd = ["-f", "lavfi", "-t", "2", "-i", "testsrc=size=33x17:rate=25"]
        try TestVideos.ffmpeg(odd + ["-pix_fmt", "yuv444p", "-c:v", "libx264", folder + "/yuv444.mp4"])
        try TestVideos.ffmpeg(odd + ["-pix_fmt", "gray", "-c:v", "ffv1", folder + "/gray.mkv"])
        try TestVideos.ffmpeg(
            source + [
                "-vf", "setpts='if(lt(N,25),N/25,1+(N-25)/10)/TB'", "-fps_mode", "vfr", "-c:v", "libx264",
                "-pix_fmt", "yuv420p", folder + "/vfr.mp4",
            ])
        try TestVideos.ffmpeg(
            [
                "-f", "lavfi", "-t", "240", "-i", "testsrc=size=32x24:rate=25", "-c:v", "libx264", "-preset",
                "ultrafast",
                folder + "/long.mp4",
            ])
        for (name, frames) in [("yuv444.mp4", 50), ("gray.mkv", 50), ("vfr.mp4", 50), ("long.mp4", 6000)] {
            let clip = try DecodedClip(path: folder + "/" + name, frames: 25)
            XCTAssertEqual(clip.info.decoded_frames, Int64(frames), name)
            XCTAssertEqual(clip.frames, 25)
        }
        let oddClip = try DecodedClip(path: folder + "/gray.mkv", frames: 25).info
        XCTAssertEqual([oddClip.width, oddClip.height], [33, 17])
        let vfr = try DecodedClip(path: folder + "/vfr.mp4", frames: 25).info
        XCTAssertLessThan(vfr.frames_per_second, 20, "variable rate: the mean rate is below the first 25 fps")
        XCTAssertGreaterThan(vfr.duration_seconds, 3)

        // Index at the front (faststart), data cut at a third: it opens, and stops early.
        try TestVideos.ffmpeg(
            [
                "-f", "lavfi", "-t", "8", "-i", "testsrc=size=128x96:rate=25", "-c:v", "libx264", "-g", "10",
                "-movflags", "+faststart",
                folder + "/whole.mp4",
            ])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: folder + "/whole.mp4"))
        try bytes.prefix(bytes.count / 3).write(to: URL(fileURLWithPath: folder + "/cut.mp4"))
        XCTAssertThrowsError(try DecodedClip(path: folder + "/cut.mp4", frames: 25)) {
            XCTAssertTrue("\($0)".contains("truncated or damaged"), "\($0)")
        }
    }

    func testFilesThatAreNotUsableVideosAreNamedWithTheReason() throws {
        let folder = try TestVideos.folder("bad")
        let good = folder + "/good.mp4"
        try TestVideos.numbered(good, count: 30, codec: "mp4v")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        try bytes.prefix(bytes.count / 3).write(to: URL(fileURLWithPath: folder + "/truncated.mp4"))
        try Data("just some text\n".utf8).write(to: URL(fileURLWithPath: folder + "/text.mp4"))
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 64))
            .write(to: URL(fileURLWithPath: folder + "/image.mp4"))
        try Data().write(to: URL(fileURLWithPath: folder + "/empty.mp4"))
        try TestVideos.write(folder + "/no-frames.avi", count: 0, width: 16, height: 16) { _, _, _ in [0, 0, 0] }

        let network = try FeatureNetwork(path: TestVideos.fixture("tiny_cnn.onnx"), probeSize: 16)
        var settings = ExtractionSettings(model: "tiny", normalization: unit)
        settings.frames = 4
        settings.size = 16
        let extractor = ClipFeatureExtractor(settings: settings, network: network)
        XCTAssertTrue(try extractor.extract(row: 0, path: good).isUsable)
        for (name, reason) in [
            ("truncated.mp4", "cannot open"), ("text.mp4", "cannot open"), ("image.mp4", "PNG image, not a video"),
            ("empty.mp4", "cannot open"), ("no-frames.avi", "no decodable video frame"),
        ] {
            let row = try extractor.extract(row: 1, path: folder + "/" + name)
            XCTAssertFalse(row.isUsable, name)
            XCTAssertTrue((row.failure ?? "").contains(reason), "\(name): \(row.failure ?? "")")
        }
    }
}
