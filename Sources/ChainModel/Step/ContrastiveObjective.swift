import ChainNumerics

/// Task 1, spatio-temporal contrastive learning: a video's code in a view is the mean of its
/// frame codes; the two views of a video are positives, and every other code of both views
/// of the *global* batch is a negative.
///
/// forward: the local codes [2·batch, bits] are all-gathered into [world·2·batch, bits];
/// this rank computes its anchors' share of the loss and the gradient of every candidate.
/// backward: the gradient is reduce-scattered back to the codes' owners and spread evenly
/// over each video's frames (× weight) into the views' dCodes.
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

    init(loss: ContrastiveLoss, weight: Float, bits: Int, maxBatch: Int) {
        self.loss = loss
        self.weight = weight
        self.bits = bits
        local = Tensor(shape: [2 * maxBatch, bits])
        dLocal = Tensor(shape: [2 * maxBatch, bits])
    }

    func forward(_ step: StepContext, _ losses: inout StepLosses) {
        let batch = step.batch.count, block = 2 * batch, exchange = step.exchange, world = exchange.worldSize
        for (viewIndex, view) in step.views.enumerated() {
            let l = view.length
            for v in 0..<batch {
                let out = local.pointer + (viewIndex * batch + v) * bits
                out.update(repeating: 0, count: bits)
                for i in 0..<l { VectorMath.add(view.codes.pointer + (v * l + i) * bits, into: out, count: bits) }
                VectorMath.scale(out, by: 1 / Float(l), count: bits)
            }
        }
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
            }
        }
        exchange.allGather(UnsafeBufferPointer(start: local.pointer, count: block * bits), into: global.buffer)
        dGlobal.fill(0)
        losses.contrastive = loss.lossAndGradient(
            codes: global.pointer, rows: rows, dim: bits, positives: positives,
            anchors: (exchange.rank * block)..<((exchange.rank + 1) * block), totalAnchors: rows,
            dCodes: dGlobal.pointer,
            workspace: workspace)
    }

    func backward(_ step: StepContext) {
        let batch = step.batch.count, block = 2 * batch
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
}
