import ChainNumerics

/// Task 3, scene-change regularisation: affinity propagation groups each video's frames (in a
/// view) into scenes with unit prototypes; every frame's h is contrasted against the
/// prototypes of the global batch, pulled to its own scene's (`PrototypeLoss`). Prototypes
/// carry no gradient.
///
/// forward: segmentation per regularised view, one gather of the prototype counts and rows,
/// then the loss and its gradient into the views' dNormalized. backward: × weight.
final class SceneChangeObjective: TrainingObjective {
    let loss: PrototypeLoss
    let segmentation: SceneSegmentation
    let weight: Float
    /// The views whose frames are regularised ([0, 1] or [0]).
    let regularised: [Int]
    let bits: Int
    let phase = "scene change"
    /// Replaces affinity propagation for view i (tests freeze the segmentation with it).
    var override: ((_ view: Int) -> SceneSegmentation.Scenes)?
    /// The loss's scratch, reused every step.
    let workspace = Workspace()

    init(loss: PrototypeLoss, segmentation: SceneSegmentation, weight: Float, bothViews: Bool, bits: Int) {
        self.loss = loss
        self.segmentation = segmentation
        self.weight = weight
        regularised = bothViews ? [0, 1] : [0]
        self.bits = bits
    }

    func forward(_ step: StepContext, _ losses: inout StepLosses) {
        let batch = step.batch.count, exchange = step.exchange
        var prototypes: [Float] = [], targets: [[Int32]] = []
        var localCount = 0
        for viewIndex in regularised {
            let view = step.views[viewIndex]
            let s =
                override?(viewIndex)
                ?? segmentation.segment(
                    view.hash.normalized.pointer, videos: batch, frames: view.length, dim: bits,
                    workers: step.workers)
            prototypes += s.prototypes
            targets.append(s.assignment.map { $0 < 0 ? -1 : $0 + Int32(localCount) })
            localCount += s.count
            losses.scenes += s.count
            losses.videosWithoutScenes += s.scenesPerVideo.filter { $0 == 0 }.count
        }
        let counts = exchange.allGatherCounts(localCount)
        let offset = Int32(counts[..<exchange.rank].reduce(0, +))
        let globalCount = counts.reduce(0, +)
        let validLocal = targets.reduce(0) { $0 + $1.filter { $0 >= 0 }.count }
        let totalAnchors = exchange.allGatherCounts(validLocal).reduce(0, +)
        guard globalCount > 0 && totalAnchors > 0 else { return }
        var globalPrototypes = [Float](repeating: 0, count: globalCount * bits)
        prototypes.withUnsafeBufferPointer { p in
            globalPrototypes.withUnsafeMutableBufferPointer {
                exchange.allGather(p, counts: counts.map { $0 * bits }, into: $0)
            }
        }
        for (k, viewIndex) in regularised.enumerated() {
            let view = step.views[viewIndex]
            let shifted = targets[k].map { $0 < 0 ? -1 : $0 + offset }
            losses.scene += globalPrototypes.withUnsafeBufferPointer {
                loss.lossAndGradient(
                    anchors: view.hash.normalized.pointer, rows: view.rows, dim: bits,
                    prototypes: $0.baseAddress!, count: globalCount, targets: shifted,
                    totalAnchors: totalAnchors, dAnchors: view.dNormalized.pointer,
                    workspace: workspace)
            }
        }
    }

    func backward(_ step: StepContext) {
        for viewIndex in regularised {
            let view = step.views[viewIndex]
            VectorMath.scale(view.dNormalized.pointer, by: weight, count: view.rows * bits)
        }
    }
}
