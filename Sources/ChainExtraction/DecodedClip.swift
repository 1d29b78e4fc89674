import CVision

/// The T frames sampled from one video (see `chain_clip_decode` for the rule), and what
/// decoding found: frames decoded, duration, size.
public final class DecodedClip {
    let clip: OpaquePointer
    public let info: chain_video_info

    /// Decodes `path`; the error is the decoder's reason (the caller adds the path).
    public init(path: String, frames: Int) throws {
        var clip: OpaquePointer? = nil
        var info = chain_video_info()
        var error = [CChar](repeating: 0, count: 512)
        guard chain_clip_decode(path, Int32(frames), &clip, &info, &error, error.count) == 0, let clip else {
            throw ExtractionError(String(errorBuffer: error))
        }
        self.clip = clip
        self.info = info
    }

    deinit { chain_clip_free(clip) }

    public var frames: Int { Int(chain_clip_frames(clip)) }

    /// Writes frames × 3 × size × size floats at `output`: the clip under `transform` (nil:
    /// the whole frame, unchanged), resized and normalised.
    public func prepare(
        transform: chain_frame_transform?, size: Int, normalization: Normalization,
        into output: UnsafeMutablePointer<Float>
    ) throws {
        var error = [CChar](repeating: 0, count: 512)
        let status = normalization.mean.withUnsafeBufferPointer { mean in
            normalization.standardDeviation.withUnsafeBufferPointer { std in
                if var transform {
                    return chain_clip_prepare(
                        clip, &transform, Int32(size), mean.baseAddress, std.baseAddress, output, &error, error.count)
                }
                return chain_clip_prepare(
                    clip, nil, Int32(size), mean.baseAddress, std.baseAddress, output, &error, error.count)
            }
        }
        guard status == 0 else { throw ExtractionError(String(errorBuffer: error)) }
    }
}

/// Per-channel input normalisation, (x − mean) / std on RGB in [0, 1]; default ImageNet's.
public struct Normalization: Sendable, Equatable, Codable {
    public var mean: [Float]
    public var standardDeviation: [Float]

    public init(mean: [Float] = [0.485, 0.456, 0.406], standardDeviation: [Float] = [0.229, 0.224, 0.225]) throws {
        guard mean.count == 3, standardDeviation.count == 3 else {
            throw ExtractionError("--mean and --std take 3 values each (R G B)")
        }
        guard standardDeviation.allSatisfy({ $0 > 0 }) else { throw ExtractionError("--std values must be positive") }
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    enum CodingKeys: String, CodingKey { case mean, standardDeviation = "std" }
}
