import CVision
import ChainExtraction
import Foundation
import XCTest

/// Augmented copies: one setting per copy for every frame, drawn from (seed, row, copy) only,
/// inside its ranges; the colour factors follow torchvision's definitions.
final class SpatialAugmentationTests: XCTestCase {
    let unit = try! Normalization(mean: [0, 0, 0], standardDeviation: [1, 1, 1])

    func prepared(_ clip: DecodedClip, _ transform: chain_frame_transform?, size: Int) throws -> [Float] {
        var values = [Float](repeating: 0, count: clip.frames * 3 * size * size)
        try values.withUnsafeMutableBufferPointer {
            try clip.prepare(transform: transform, size: size, normalization: unit, into: $0.baseAddress!)
        }
        return values
    }

    func testSettingsDependOnlyOnSeedRowAndCopyAndStayInTheirRanges() {
        let policy = SpatialAugmentation()
        var flips = 0
        for row in 0..<200 {
            let a = policy.transform(seed: 7, row: row, copy: 0, width: 64, height: 48)
            let again = policy.transform(seed: 7, row: row, copy: 0, width: 64, height: 48)
            let other = policy.transform(seed: 7, row: row, copy: 1, width: 64, height: 48)
            let reseeded = policy.transform(seed: 8, row: row, copy: 0, width: 64, height: 48)
            XCTAssertEqual(a.crop_x, again.crop_x)
            XCTAssertEqual(a.brightness, again.brightness)
            XCTAssertNotEqual(a.crop_x, other.crop_x)
            XCTAssertNotEqual(a.brightness, reseeded.brightness)
            XCTAssertGreaterThanOrEqual(a.crop_x, 0)
            XCTAssertLessThanOrEqual(a.crop_x + a.crop_width, 1.0001)
            XCTAssertLessThanOrEqual(a.crop_y + a.crop_height, 1.0001)
            let area = a.crop_width * a.crop_height
            XCTAssertTrue((0.5 - 1e-4...1 + 1e-4).contains(area), "area \(area)")
            let aspect = (a.crop_width * 64) / (a.crop_height * 48)
            XCTAssertTrue((0.75 - 1e-3...4.0 / 3 + 1e-3).contains(aspect), "aspect \(aspect)")
            for factor in [a.brightness, a.contrast, a.saturation] { XCTAssertTrue((0.8...1.2).contains(factor)) }
            flips += Int(a.flip)
        }
        XCTAssertTrue((70...130).contains(flips), "flip p = 0.5: \(flips) of 200")
    }

    func testCopiesOfAStillClipAreTheSameInEveryFrameAndDifferBetweenCopies() throws {
        let path = try TestVideos.folder("still") + "/still.mkv"
        try TestVideos.write(path, codec: "FFV1", count: 8, width: 40, height: 30) { _, x, y in
            [UInt8(x * 6), UInt8(y * 8), UInt8((x * y) % 256)]
        }
        let clip = try DecodedClip(path: path, frames: 8)
        let size = 16, frame = 3 * size * size
        let policy = SpatialAugmentation()
        var copies: [[Float]] = []
        for copy in 0..<3 {
            let values = try prepared(
                clip, policy.transform(seed: 1, row: 0, copy: copy, width: 40, height: 30), size: size)
            for f in 1..<8 { XCTAssertEqual(Array(values[f * frame..<(f + 1) * frame]), Array(values[0..<frame])) }
            copies.append(Array(values[0..<frame]))
        }
        let clean = Array(try prepared(clip, nil, size: size)[0..<frame])
        for i in 0..<3 {
            XCTAssertNotEqual(copies[i], clean)
            for j in 0..<i { XCTAssertNotEqual(copies[i], copies[j]) }
        }
    }

    /// A 2 × 1 frame, no resize: brightness, contrast and saturation by hand.
    func testColourFactorsFollowTorchvision() throws {
        let path = try TestVideos.folder("colour") + "/two.mkv"
        let pixels: [[UInt8]] = [[200, 100, 50], [20, 40, 240]]
        try TestVideos.write(path, codec: "FFV1", count: 1, width: 2, height: 2) { _, x, _ in pixels[x] }
        let clip = try DecodedClip(path: path, frames: 1)
        let whole = chain_frame_transform(
            crop_x: 0, crop_y: 0, crop_width: 1, crop_height: 1, flip: 0, brightness: 1.3, contrast: 0.7,
            saturation: 1.4)
        let got = try prepared(clip, whole, size: 2)
        // The same in doubles: x·b clamped; (x − m)·c + m with m the mean grey; (x − g)·s + g.
        func grey(_ p: [Double]) -> Double { 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] }
        func clamp(_ v: Double) -> Double { min(1, max(0, v)) }
        var image = [0, 1, 0, 1].map { pixels[$0].map { Double($0) / 255 } }  // 2 × 2, rows alike
        image = image.map { $0.map { clamp($0 * 1.3) } }
        let m = image.map(grey).reduce(0, +) / 4
        image = image.map { $0.map { clamp(($0 - m) * 0.7 + m) } }
        image = image.map { p in
            let g = grey(p); return p.map { clamp(($0 - g) * 1.4 + g) }
        }
        for pixel in 0..<4 {
            for c in 0..<3 {
                XCTAssertEqual(Double(got[c * 4 + pixel]), image[pixel][c], accuracy: 1e-5, "pixel \(pixel) c \(c)")
            }
        }
        // The flip mirrors left and right.
        var flipped = whole
        flipped.flip = 1
        let mirrored = try prepared(clip, flipped, size: 2)
        XCTAssertEqual(mirrored[0], got[1], accuracy: 1e-6)
        XCTAssertEqual(mirrored[1], got[0], accuracy: 1e-6)
    }
}
