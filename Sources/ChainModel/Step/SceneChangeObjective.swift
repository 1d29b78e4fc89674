import ChainNumerics

/// Task 3, scene-change regularisation: affinity propagation groups a video's frames into
/// scenes with unit prototypes, and every frame's h is contrasted against prototypes — pulled
/// to its own scene's (`PrototypeLoss`, τ). Prototypes carry no gradient. The form
/// (`SceneChangeForm`) chooses what is clustered (the view's detached codes, or the video's
/// input features once per video, cached), whose prototypes a view's frames are pulled to
/// (their own view's, or the other view's) and the negatives (every scene of the global
/// batch, or the other scenes of the same video).
///
/// forward: scenes per view, targets, (with batch negatives) one gather of the prototype
/// counts and rows, then the loss and its gradient into the views' dNormalized.
/// backward: × weight.
final class SceneChangeObjective: TrainingObjective {
    let loss: PrototypeLoss
    let segmentation: SceneSegmentation
    let form: SceneChangeForm
    let weight: Float
    /// The views whose frames are regularised ([0, 1] or [0]).
    let regularised: [Int]
    let bits: Int
    let phase = "scene change"
    /// Replaces affinity propagation for view i (codes clustering; tests freeze the segmentation with it).
    var override: ((_ view: Int) -> SceneSegmentation.Scenes)?
    /// The loss's scratch, reused every step.
    let workspace = Workspace()
    /// When set, each view's scenes (labels and prototypes) are kept from the first step and
    /// reused: tests compare the stop-gradient objective with finite differences this way.
    var frozenScenes: [Int: ViewScenes]?
    /// Features clustering: each video's scene label per frame ([T], −1: none), by global id.
    private var videoScenes: [UInt64: [Int32]] = [:]
    /// This step's labels, video by video (set by `clusterVideoFeatures`).
    private var batchLabels: [[Int32]] = []

    init(
        loss: PrototypeLoss, segmentation: SceneSegmentation, form: SceneChangeForm, weight: Float,
        bothViews: Bool, bits: Int
    ) {
        self.loss = loss
        self.segmentation = segmentation
        self.form = form
        self.weight = weight
        regularised = bothViews ? [0, 1] : [0]
        self.bits = bits
    }

    /// The scenes of one view's videos: unit prototypes [count, bits], video by video; the
    /// prototype of each of the view's rows (−1: none); each video's prototype indices; and,
    /// with features clustering, each video's prototype of scene label c (−1: not in this view).
    struct ViewScenes {
        var prototypes: [Float] = []
        var count = 0
        var rowScene: [Int32] = []
        var videoRange: [Range<Int>] = []
        var sceneOfLabel: [[Int32]] = []
    }

    /// The view whose prototypes view `target`'s frames are pulled to.
    func source(of target: Int) -> Int { form.targets == .sameView ? target : 1 - target }

    func forward(_ step: StepContext, _ losses: inout StepLosses) {
        let batch = step.batch.count, exchange = step.exchange
        if form.clustering == .features { clusterVideoFeatures(step) }
        var scenes: [Int: ViewScenes] = [:]
        for target in regularised where scenes[source(of: target)] == nil {
            let index = source(of: target)
            scenes[index] = frozenScenes?[index] ?? viewScenes(index, step)
            if frozenScenes != nil { frozenScenes?[index] = scenes[index] }
        }
        // Per regularised view: its source's prototypes and its rows' targets (local indices).
        var targets: [[Int32]] = []
        for target in regularised {
            let src = scenes[source(of: target)]!
            targets.append(target == source(of: target) ? src.rowScene : crossTargets(step.views[target], src, step))
            losses.scenes += src.count
            losses.videosWithoutScenes += src.videoRange.prefix(batch).filter { $0.isEmpty }.count
        }
        let validLocal = targets.reduce(0) { $0 + $1.filter { $0 >= 0 }.count }
        switch form.negatives {
        case .batch: losses.scene += batchLoss(step, scenes, targets, validLocal: validLocal)
        case .video:
            let totalAnchors = exchange.allGatherCounts(validLocal).reduce(0, +)
            guard totalAnchors > 0 else { return }
            for (k, target) in regularised.enumerated() {
                losses.scene += videoLoss(
                    step.views[target], scenes[source(of: target)]!, targets[k],
                    totalAnchors: totalAnchors)
            }
        }
    }

    /// Every frame against all prototypes of the global batch (gathered).
    func batchLoss(_ step: StepContext, _ scenes: [Int: ViewScenes], _ targets: [[Int32]], validLocal: Int) -> Double {
        let exchange = step.exchange
        var prototypes: [Float] = [], shiftedTargets: [[Int32]] = []
        var localCount = 0
        for (k, target) in regularised.enumerated() {
            let src = scenes[source(of: target)]!
            prototypes += src.prototypes
            shiftedTargets.append(targets[k].map { $0 < 0 ? -1 : $0 + Int32(localCount) })
            localCount += src.count
        }
        let counts = exchange.allGatherCounts(localCount)
        let offset = Int32(counts[..<exchange.rank].reduce(0, +))
        let globalCount = counts.reduce(0, +)
        let totalAnchors = exchange.allGatherCounts(validLocal).reduce(0, +)
        guard globalCount > 0 && totalAnchors > 0 else { return 0 }
        var globalPrototypes = [Float](repeating: 0, count: globalCount * bits)
        prototypes.withUnsafeBufferPointer { p in
            globalPrototypes.withUnsafeMutableBufferPointer {
                exchange.allGather(p, counts: counts.map { $0 * bits }, into: $0)
            }
        }
        var total = 0.0
        for (k, target) in regularised.enumerated() {
            let view = step.views[target]
            let shifted = shiftedTargets[k].map { $0 < 0 ? -1 : $0 + offset }
            total += globalPrototypes.withUnsafeBufferPointer {
                loss.lossAndGradient(
                    anchors: view.hash.normalized.pointer, rows: view.rows, dim: bits,
                    prototypes: $0.baseAddress!, count: globalCount, targets: shifted,
                    totalAnchors: totalAnchors, dAnchors: view.dNormalized.pointer,
                    workspace: workspace)
            }
        }
        return total
    }

    /// Each video's frames against that video's prototypes only.
    func videoLoss(_ view: ViewPass, _ src: ViewScenes, _ targets: [Int32], totalAnchors: Int) -> Double {
        let l = view.length
        var total = 0.0
        for v in 0..<(view.rows / l) {
            let range = src.videoRange[v]
            guard !range.isEmpty else { continue }
            let local = targets[(v * l)..<((v + 1) * l)].map { $0 < 0 ? -1 : $0 - Int32(range.lowerBound) }
            guard local.contains(where: { $0 >= 0 }) else { continue }
            total += src.prototypes.withUnsafeBufferPointer {
                loss.lossAndGradient(
                    anchors: view.hash.normalized.pointer + v * l * bits, rows: l, dim: bits,
                    prototypes: $0.baseAddress! + range.lowerBound * bits, count: range.count,
                    targets: local, totalAnchors: totalAnchors,
                    dAnchors: view.dNormalized.pointer + v * l * bits, workspace: workspace)
            }
        }
        return total
    }

    func backward(_ step: StepContext) {
        for target in regularised {
            let view = step.views[target]
            VectorMath.scale(view.dNormalized.pointer, by: weight, count: view.rows * bits)
        }
    }
}

extension SceneChangeObjective {
    /// The scenes of view `index`: affinity propagation on its detached codes, or the cached
    /// scenes of its videos' features with prototypes from this view's frames.
    func viewScenes(_ index: Int, _ step: StepContext) -> ViewScenes {
        let view = step.views[index], batch = step.batch.count, l = view.length
        var result = ViewScenes()
        switch form.clustering {
        case .codes:
            let s =
                override?(index)
                ?? segmentation.segment(
                    view.hash.normalized.pointer, videos: batch, frames: l, dim: bits,
                    workers: step.workers)
            result.prototypes = s.prototypes
            result.count = s.count
            result.rowScene = s.assignment
            var first = 0
            for n in s.scenesPerVideo {
                result.videoRange.append(first..<(first + n))
                first += n
            }
        case .features:
            result.rowScene = [Int32](repeating: -1, count: batch * l)
            let h = view.hash.normalized.pointer
            for v in 0..<batch {
                let labels = sceneLabels(of: v, step)
                let scenesInVideo = Int(labels.max() ?? -1) + 1
                var mean = [Float](repeating: 0, count: scenesInVideo * bits)
                var members = [Int](repeating: 0, count: scenesInVideo)
                for i in 0..<l {
                    let label = Int(labels[Int(view.positions[v * l + i])])
                    guard label >= 0 else { continue }
                    let row = h + (v * l + i) * bits
                    let norm = max(Float(VectorMath.sumOfSquares(row, count: bits).squareRoot()), 1e-12)
                    for k in 0..<bits { mean[label * bits + k] += row[k] / norm }
                    members[label] += 1
                }
                var prototypeOf = [Int32](repeating: -1, count: scenesInVideo)
                let first = result.count
                for c in 0..<scenesInVideo where members[c] > 0 {
                    let p = mean[(c * bits)..<((c + 1) * bits)]
                    let norm = max(p.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                    result.prototypes += p.map { $0 / norm }
                    prototypeOf[c] = Int32(result.count)
                    result.count += 1
                }
                result.videoRange.append(first..<result.count)
                result.sceneOfLabel.append(prototypeOf)
                for i in 0..<l {
                    let label = Int(labels[Int(view.positions[v * l + i])])
                    if label >= 0 { result.rowScene[v * l + i] = prototypeOf[label] }
                }
            }
        }
        return result
    }

    /// Targets for `view`'s rows among another view's prototypes: the same scene label
    /// (features clustering), or the nearest of the video's prototypes by cosine (codes).
    func crossTargets(_ view: ViewPass, _ src: ViewScenes, _ step: StepContext) -> [Int32] {
        let l = view.length, batch = view.rows / l, h = view.hash.normalized.pointer
        var targets = [Int32](repeating: -1, count: view.rows)
        for v in 0..<batch {
            let range = src.videoRange[v]
            guard !range.isEmpty else { continue }
            if form.clustering == .features {
                let labels = sceneLabels(of: v, step)
                for i in 0..<l {
                    let label = Int(labels[Int(view.positions[v * l + i])])
                    if label >= 0 { targets[v * l + i] = src.sceneOfLabel[v][label] }
                }
                continue
            }
            for i in 0..<l {
                let row = h + (v * l + i) * bits
                var best = range.lowerBound, bestScore = -Float.infinity
                for p in range {
                    let score = src.prototypes.withUnsafeBufferPointer {
                        VectorMath.dot(row, $0.baseAddress! + p * bits, count: bits)
                    }
                    if Float(score) > bestScore { bestScore = Float(score); best = p }
                }
                targets[v * l + i] = Int32(best)
            }
        }
        return targets
    }

    /// The batch's scene labels: from the cache by global id, affinity propagation on the
    /// input features for videos not yet clustered (each video once; without global ids,
    /// once per step).
    func clusterVideoFeatures(_ step: StepContext) {
        let ids = step.batch.videoIDs
        batchLabels = (0..<step.batch.count).map { v in
            if let id = ids?[v], let cached = videoScenes[id] { return cached }
            let labels = clusterFeatures(of: v, step)
            if let id = ids?[v] { videoScenes[id] = labels }
            return labels
        }
    }

    /// Scene label of each of video v's T frames (−1 for all when clustering found none).
    func sceneLabels(of v: Int, _ step: StepContext) -> [Int32] { batchLabels[v] }

    func clusterFeatures(of v: Int, _ step: StepContext) -> [Int32] {
        let t = step.batch.frames, f = step.model.config.encoder.inputSize
        return segmentation.segment(step.batch.features + v * t * f, videos: 1, frames: t, dim: f).assignment
    }
}
