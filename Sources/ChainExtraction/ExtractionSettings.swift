import ChainStorage

/// Everything that decides the bytes of an extraction's output. Stored as the work folder's
/// manifest: a rerun with other settings does not mix its rows with the earlier run's.
public struct ExtractionSettings: Sendable, Equatable, Codable {
    /// T: frames sampled per video.
    public var frames: Int = 25
    /// The network's input: size × size pixels.
    public var size: Int = 224
    /// A: augmented copies per video (0: none).
    public var copies: Int = 0
    public var seed: UInt64 = 0
    public var normalization: Normalization
    public var augmentation = SpatialAugmentation()
    /// The element type of the feature files: float32 or float16.
    public var float16 = false
    public var labelsFromFolders = false
    /// The model file: path, size and CRC-32 of its bytes.
    public var model: String
    public var modelBytes: Int64 = 0
    public var modelCRC32: UInt32 = 0
    /// The video list: how many rows and the CRC-32 of their paths in order.
    public var videos: Int = 0
    public var videosCRC32: UInt32 = 0

    public init(model: String, normalization: Normalization) {
        self.model = model
        self.normalization = normalization
    }

    public var elementType: HDF5ElementType { float16 ? .float16 : .float32 }

    /// The names of the settings that differ from `other`, for the resume error.
    public func differences(from other: ExtractionSettings) -> [String] {
        var names: [String] = []
        if frames != other.frames { names.append("--frames") }
        if size != other.size { names.append("--size") }
        if copies != other.copies { names.append("--aug-copies") }
        if seed != other.seed { names.append("--seed") }
        if normalization != other.normalization { names.append("--mean/--std") }
        if augmentation != other.augmentation { names.append("the augmentation ranges") }
        if float16 != other.float16 { names.append("--dtype") }
        if labelsFromFolders != other.labelsFromFolders { names.append("--labels-from-folders") }
        if model != other.model || modelBytes != other.modelBytes || modelCRC32 != other.modelCRC32 {
            names.append("--model")
        }
        if videos != other.videos || videosCRC32 != other.videosCRC32 { names.append("--videos") }
        return names
    }
}

extension ExtractionSettings {
    /// Fills in the identity of the model file and of the video list.
    public mutating func describe(model path: String, videos: VideoList) throws {
        let (crc, bytes) = try CRC32.of(file: path)
        modelCRC32 = crc
        modelBytes = bytes
        self.videos = videos.entries.count
        videosCRC32 = CRC32.of(strings: videos.entries.map(\.path))
    }
}
