import ChainNN

/// Every choice of the CHAIN model and its objectives (see docs/method.md).
public struct CHAINConfig: Sendable, Equatable {
    /// The frame encoder (F → d, positions, blocks, final LayerNorm). `maxPositions` is
    /// T_max, the longest video; the order head has that many outputs.
    public var encoder: EncoderConfig
    /// Code length.
    public var bits: Int
    /// Temporal views: L frames per view from a span of at least `minimumSpan` of the video.
    public var views: SegmentSampler
    /// Spatial augmentation used when the data has no pre-extracted augmented copies.
    public var augmentation: FeatureAugmentation

    /// Task 1: contrastive learning over the global batch.
    public var contrastiveWeight: Float
    public var contrastive: ContrastiveLoss
    /// Task 2: frame-order verification (α).
    public var orderWeight: Float
    /// Task 3: scene-change regularisation (β).
    public var sceneWeight: Float
    public var scene: PrototypeLoss
    public var scenes: SceneSegmentation
    /// Apply the scene loss to the frames of both views (else of view 1 only).
    public var sceneOnBothViews: Bool

    /// What the hash layer emits in training: `.sign` (the method) or `.hardTanh` (its
    /// straight-through surrogate; gradient checks use it).
    public var hashActivation: HashActivation

    public init(featureSize: Int, maxFrames: Int, bits: Int = 64, modelSize: Int = 256, layers: Int = 4,
                heads: Int = 8, ffnSize: Int = 1024, viewFrames: Int = 12) {
        encoder = EncoderConfig(inputSize: featureSize, modelSize: modelSize, layers: layers, heads: heads,
                                ffnSize: ffnSize, maxPositions: maxFrames, positional: .learned, placement: .pre,
                                dropout: 0.1, attentionDropout: 0, finalNorm: true)
        self.bits = bits
        views = SegmentSampler(segments: min(viewFrames, maxFrames), minimumSpan: 0.5)
        augmentation = FeatureAugmentation()
        contrastiveWeight = 1
        contrastive = ContrastiveLoss(temperature: 0.5)
        orderWeight = 1
        sceneWeight = 1
        scene = PrototypeLoss(temperature: 0.1)
        scenes = SceneSegmentation()
        sceneOnBothViews = true
        hashActivation = .sign
    }

    public var usesContrastive: Bool { contrastiveWeight > 0 }
    public var usesOrder: Bool { orderWeight > 0 }
    public var usesScene: Bool { sceneWeight > 0 }
}
