import Foundation

/// Turns one video file into its `VideoFeatures`: decode and sample T frames, prepare the
/// clean clip and each augmented copy (one setting for all T frames), run the network on each.
/// A video that cannot be used gives an unusable row with the reason, not an error: the job
/// decides whether that stops the extraction.
public struct ClipFeatureExtractor {
    public let settings: ExtractionSettings
    public let network: FeatureNetwork

    public init(settings: ExtractionSettings, network: FeatureNetwork) {
        self.settings = settings
        self.network = network
    }

    /// The source file's size and modification time (a changed file is extracted again).
    public static func source(of path: String) -> VideoFeatures.Source {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let bytes = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
        let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return VideoFeatures.Source(bytes: bytes, modified: modified)
    }

    public func extract(row: Int, path: String) throws -> VideoFeatures {
        let source = Self.source(of: path)
        if let image = ImageSignature.of(file: path) {
            return .unusable(row: row, source: source, reason: "a \(image) image, not a video")
        }
        let clip: DecodedClip
        do {
            clip = try DecodedClip(path: path, frames: settings.frames)
        } catch {
            return .unusable(row: row, source: source, reason: "\(error)")
        }
        let t = settings.frames, s = settings.size, f = network.featureSize
        var input = [Float](repeating: 0, count: t * 3 * s * s)
        var values: [Float] = []
        values.reserveCapacity((1 + settings.copies) * t * f)
        for copy in -1..<settings.copies {
            let transform =
                copy < 0
                ? nil
                : settings.augmentation.transform(
                    seed: settings.seed, row: row, copy: copy, width: Int(clip.info.width),
                    height: Int(clip.info.height))
            try input.withUnsafeMutableBufferPointer {
                try clip.prepare(
                    transform: transform, size: s, normalization: settings.normalization, into: $0.baseAddress!)
            }
            values += try network(input, batch: t, size: s)
        }
        return VideoFeatures(
            row: row, source: source, failure: nil, decodedFrames: clip.info.decoded_frames,
            durationSeconds: clip.info.duration_seconds, frames: t, featureSize: f, copies: settings.copies,
            values: values)
    }
}

/// Recognises still-image files by their first bytes (FFmpeg would open a JPEG renamed .mp4 as
/// a one-frame video): PNG, JPEG, GIF, BMP, WebP, TIFF.
enum ImageSignature {
    static func of(file path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 16) else { return nil }
        let b = Array(head)
        func starts(_ prefix: [UInt8]) -> Bool { b.count >= prefix.count && Array(b.prefix(prefix.count)) == prefix }
        if starts([0x89, 0x50, 0x4E, 0x47]) { return "PNG" }
        if starts([0xFF, 0xD8, 0xFF]) { return "JPEG" }
        if starts(Array("GIF8".utf8)) { return "GIF" }
        if starts(Array("BM".utf8)) && b.count >= 14 { return "BMP" }
        if starts(Array("RIFF".utf8)) && b.count >= 12 && Array(b[8..<12]) == Array("WEBP".utf8) { return "WebP" }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return "TIFF" }
        return nil
    }
}
