import ChainNumerics

/// Task 1, spatio-temporal contrastive learning: a video's code in a view is the mean of its
/// frame codes; the two views of a video are positives, and every other code of both views
/// of the *global* batch is a negative.
///
/// forward: the local codes [2·batch, bits] are all-gathered into [world·2·batch, bits];
/// this rank computes its anchors' share of the loss and the gradient of every candidate.
/// backward: the gradient is reduce-scattered back to the codes' owners and spread evenly
/// over each video's frames (× weight) into the views' dCodes.
///
/// With a `reversed` pass, each rank's block grows to [3·batch, bits]: view 0 played
/// backwards follows the two views (`ReversedViewPass`), a candidate of every anchor and an
/// anchor itself never; its gradient goes back through its own pass after the views'.
final class ContrastiveObjective: TrainingObjective {
    let loss: ContrastiveLoss
    let weight: Float
    let bits: Int
    let phase = "contrastive"
    /// [2·maxBatch, bits] this rank's video codes (view 0's videos, then view 1's) and their gradient.
    let local: Tensor, dLocal: Tensor
    /// [world·2·maxBatch, bits] the global batch's codes and their gradient; `positives[i]` is
    /// the row of i's other view. Sized at the first step (they depend on the world size).
    private var global = Tensor(shape: [0]), dGlobal = Tensor(shape: [0])
    private var positives: [Int] = []
    /// The loss's scratch, reused every step.
    let workspace = Workspace()
    /// View 0 reversed, whose codes are extra negatives (nil: none).
    let reversed: ReversedViewPass?
    /// Rows per video in a rank's block: two views, and the reversed view when there is one.
    var rowsPerVideo: Int { reversed == nil ? 2 : 3 }

    init(loss: ContrastiveLoss, weight: Float, bits: Int, maxBatch: Int, reversed: ReversedViewPass? = nil) {
        self.loss = loss
        self.weight = weight
        self.bits = bits
        self.reversed = reversed
        let rows = (reversed == nil ? 2 : 3) * maxBatch
        local = Tensor(shape: [rows, bits])
        dLocal = Tensor(shape: [rows, bits])
    }

    func forward(_ step: StepContext, _ losses: inout StepLosses) {
        let batch = step.batch.count, block = rowsPerVideo * batch, exchange = step.exchange,
            world = exchange.worldSize
        for (viewIndex, view) in step.views.enumerated() {
            Self.meanOverFrames(
                view.codes.pointer, into: local.pointer + viewIndex * batch * bits, videos: batch,
                length: view.length, bits: bits)
        }
        reversed?.forward(step, videoCodes: local.pointer + 2 * batch * bits)
        let rows = world * block
        if global.count != rows * bits {
            global = Tensor(shape: [rows, bits])
            dGlobal = Tensor(shape: [rows, bits])
            positives = [Int](repeating: 0, count: rows)
        }
        for r in 0..<world {
            for j in 0..<batch {
                positives[r * block + j] = r * block + batch + j
                positives[r * block + batch + j] = r * block + j
                // A reversed row is never an anchor, so its positive is never read.
                if reversed != nil { positives[r * block + 2 * batch + j] = r * block + j }
            }
        }
        exchange.allGather(UnsafeBufferPointer(start: local.pointer, count: block * bits), into: global.buffer)
        dGlobal.fill(0)
        losses.contrastive = loss.lossAndGradient(
            codes: global.pointer, rows: rows, dim: bits, positives: positives,
            anchors: (exchange.rank * block)..<(exchange.rank * block + 2 * batch), totalAnchors: world * 2 * batch,
            dCodes: dGlobal.pointer,
            workspace: workspace)
    }

    func backward(_ step: StepContext) {
        let batch = step.batch.count, block = rowsPerVideo * batch
        step.exchange.reduceScatter(
            UnsafeBufferPointer(dGlobal.buffer),
            into: UnsafeMutableBufferPointer(start: dLocal.pointer, count: block * bits))
        for (viewIndex, view) in step.views.enumerated() {
            let l = view.length, perFrame = weight / Float(l)
            for v in 0..<batch {
                let g = dLocal.pointer + (viewIndex * batch + v) * bits
                for i in 0..<l {
                    let out = view.dCodes.pointer + (v * l + i) * bits
                    for b in 0..<bits { out[b] += perFrame * g[b] }
                }
            }
        }
    }

    func backwardAfterViews(_ step: StepContext) {
        guard let reversed else { return }
        let batch = step.batch.count, g = dLocal.pointer + 2 * batch * bits
        VectorMath.scale(g, by: weight, count: batch * bits)
        reversed.backward(step, dVideoCodes: g)
    }

    /// videoCodes[v] = (1/L) Σ_i frameCodes[v·L + i]: a video's code in a view, [videos, bits].
    static func meanOverFrames(
        _ frameCodes: UnsafePointer<Float>, into videoCodes: UnsafeMutablePointer<Float>, videos: Int, length l: Int,
        bits: Int
    ) {
        for v in 0..<videos {
            let out = videoCodes + v * bits
            out.update(repeating: 0, count: bits)
            for i in 0..<l { VectorMath.add(frameCodes + (v * l + i) * bits, into: out, count: bits) }
            VectorMath.scale(out, by: 1 / Float(l), count: bits)
        }
    }
}
