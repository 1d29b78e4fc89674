import ChainNN

/// Every choice of the CHAIN model and its objectives (see docs/method.md).
public struct CHAINConfig: Sendable, Equatable {
    /// Which method the engine trains.
    public enum Mode: String, Sendable, Codable, CaseIterable {
        /// CHAIN: segment-sampled views, contrastive + frame order + scene change.
        case chain
        /// ConMH (Wang et al., AAAI 2023): masked views, MAE decoder reconstruction + debiased contrastive.
        case conmh
    }

    /// ConMH's masking and decoder.
    public struct ConMHSettings: Sendable, Equatable, Codable {
        /// Fraction of each view's frames hidden from the encoder (rounded; at least one stays visible).
        public var maskRatio: Float = 0.5
        public var decoderWidth = 192
        public var decoderLayers = 2
        public var decoderHeads = 3
        public init() {}
    }

    public var mode: Mode = .chain
    public var conmh = ConMHSettings()

    /// The frame encoder (F → d, positions, blocks, final LayerNorm). `maxPositions` is
    /// T_max, the longest video; the order head has that many outputs.
    public var encoder: EncoderConfig
    /// Which position each frame of a view is embedded at: its frame index, or the view's
    /// span stretched over the video (`PositionIndex`; chain mode). The model's own default is
    /// the index; the training default (`RunConfig`, configs/demo.yaml) is stretched.
    public var positionIndex = PositionIndex.frame
    /// Code length.
    public var bits: Int
    /// Whether the hash layer also reads the input features (PCA-initialised; `InputShortcut`).
    public var inputShortcut = InputShortcut.none
    /// Temporal views: L frames per view from a span of at least `minimumSpan` of the video.
    public var views: SegmentSampler
    /// Spatial augmentation used when the data has no pre-extracted augmented copies.
    public var augmentation: FeatureAugmentation

    /// Task 1: contrastive learning over the global batch.
    public var contrastiveWeight: Float
    public var contrastive: ContrastiveLoss
    /// Task 2: frame-order verification (α), and what its head predicts.
    public var orderWeight: Float
    public var orderTarget = OrderTarget.rank
    /// The fraction of view 0's frames the order pass moves (1: all of them, the encoder
    /// seeing slot positions 0…L−1; below 1 the others stay in place at their positions, the
    /// context the moved ones are placed against: `FrameOrderObjective`).
    public var orderShuffled: Float = 1
    /// Whether view 0 played backwards joins the contrastive batch as a negative
    /// (`ReversedViewPass`): the order asked of the code, not of a head.
    public var reversedNegatives = false
    /// Task 3: scene-change regularisation (β). Off in a bare `CHAINConfig`; the training
    /// default (`RunConfig`) is β = 0.5 with video negatives (docs/method.md).
    public var sceneWeight: Float
    public var scene: PrototypeLoss
    public var scenes: SceneSegmentation
    /// What is clustered, and which prototypes a frame is contrasted with.
    public var sceneForm = SceneChangeForm()
    /// γ, the weight of masked-frame reconstruction (`MaskedReconstruction`). ConMH mode
    /// always reconstructs (default 1); in chain mode γ > 0 reconstructs the frames a view did
    /// not sample from its frame codes (default 0: off).
    public var reconstructionWeight: Float = 0
    /// Apply the scene loss to the frames of both views (else of view 1 only).
    public var sceneOnBothViews: Bool

    /// What the hash layer emits in training: `.sign` (the method) or `.hardTanh` (its
    /// straight-through surrogate; gradient checks use it).
    public var hashActivation: HashActivation

    public init(
        featureSize: Int, maxFrames: Int, bits: Int = 64, modelSize: Int = 256, layers: Int = 4,
        heads: Int = 8, ffnSize: Int = 1024, viewFrames: Int = 12
    ) {
        encoder = EncoderConfig(
            inputSize: featureSize, modelSize: modelSize, layers: layers, heads: heads,
            ffnSize: ffnSize, maxPositions: maxFrames, positional: .learned, placement: .pre,
            dropout: 0.1, attentionDropout: 0, finalNorm: true)
        self.bits = bits
        views = SegmentSampler(segments: min(viewFrames, maxFrames), minimumSpan: 0.5)
        augmentation = FeatureAugmentation()
        contrastiveWeight = 1
        contrastive = ContrastiveLoss(temperature: 0.5, debiasPrior: 0.1)  // chosen on mmnist's validation split
        orderWeight = 1
        sceneWeight = 0
        scene = PrototypeLoss(temperature: 0.1)
        scenes = SceneSegmentation()
        sceneOnBothViews = true
        hashActivation = .sign
    }

    /// The ConMH configuration: all frames per view, masked; debiased contrastive (τ = 0.5,
    /// τ⁺ = 0.1) plus reconstruction; no order or scene task. `layers`/`heads`/`headSize`
    /// default to the shape ConMH is usually compared at (12 blocks, 6 heads of width 42).
    public static func conmh(
        featureSize: Int, frames: Int, bits: Int = 64, modelSize: Int = 256, layers: Int = 12,
        heads: Int = 6, headSize: Int = 42, ffnSize: Int = 1024
    ) -> CHAINConfig {
        var c = CHAINConfig(
            featureSize: featureSize, maxFrames: frames, bits: bits, modelSize: modelSize, layers: layers,
            heads: heads, ffnSize: ffnSize, viewFrames: frames)
        c.encoder.headSize = headSize
        c.mode = .conmh
        c.views = SegmentSampler(segments: frames, minimumSpan: 1)
        c.augmentation = .identity
        c.contrastive = ContrastiveLoss(temperature: 0.5, debiasPrior: 0.1)
        c.orderWeight = 0
        c.sceneWeight = 0
        c.reconstructionWeight = 1
        return c
    }

    public var usesContrastive: Bool { contrastiveWeight > 0 }
    public var usesOrder: Bool { orderWeight > 0 }
    /// Reversed views as negatives (they need the contrastive task).
    public var usesReversedNegatives: Bool { reversedNegatives && usesContrastive }
    public var usesScene: Bool { sceneWeight > 0 }
    /// ConMH mode, or chain mode with γ > 0.
    public var usesReconstruction: Bool { mode == .conmh || reconstructionWeight > 0 }
    /// Whether the model has the MAE decoder and reconstruction head.
    public var hasDecoder: Bool { usesReconstruction }
}
