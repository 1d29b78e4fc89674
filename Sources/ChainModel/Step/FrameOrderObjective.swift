import ChainNN
import ChainNumerics

/// Task 2, frame-order verification: view 0's frames are shuffled per video, the encoder sees
/// them at their slots' positions, and the order head predicts, for each slot, the frame's
/// rank among the view's L frames (`OrderTarget.rank`: softmax over the first L of the
/// head's T_max outputs) or its absolute index t among the video's T frames
/// (`OrderTarget.position`: over the first T outputs). Cross-entropy, the global mean over
/// the frames asked.
///
/// `shuffled` = 1 moves every frame and the positions are the slots 0…L−1 (with
/// `PositionIndex.stretched`, round(s·(T−1)/(L−1))): nothing tells where a frame belongs but
/// its content. Below 1, m = max(2, round(shuffled·L)) random slots pass their frames round
/// a random cycle (every chosen frame moves); all frames keep the positions of their slots
/// as view 0's encoder saw them (`ViewPass.encoderPositions`), so the
/// m moved frames sit at wrong positions among correctly placed ones, and only they are asked.
/// On videos whose reversal is another valid video (shots' classes), a shuffled bag cannot say
/// which end came first; against the unmoved frames it can.
///
/// The pass reads view 0's projection (view 0 `keepsProjection`) instead of projecting the
/// same frames again, and adds its gradient there. forward: permute, encoder, head, loss.
/// backwardAfterViews: head, encoder, then into view 0's dProjected (whose weight gradient
/// view 0 forms once for both passes).
final class FrameOrderObjective: TrainingObjective {
    let weight: Float
    let target: OrderTarget
    /// The fraction of a view's frames moved (1: all, at slot positions).
    let shuffled: Float
    let length: Int, maxPositions: Int, modelSize: Int
    let phase = "order pass"
    var reachesViewCodes: Bool { false }
    let encoder: TransformerEncoder.Activations
    /// [maxBatch·L] slot s of video v holds view row sourceRow[v·L + s], at positions[v·L + s].
    var positions: [Int32], sourceRow: [Int]
    /// The rows whose frame was moved, in order (every row when `shuffled` = 1), and what the
    /// head must say for each (rank or position); the loss and its gradient are over these,
    /// compacted.
    var askedRows: [Int] = [], askedTargets: [Int32] = []
    /// [maxBatch·L, d] the permuted projection and its gradient; the encoder output's gradient.
    let embedded: Tensor, dEmbedded: Tensor, dHidden: Tensor
    /// [maxBatch·L, T_max] the head's logits and their gradient; the first C of each row
    /// (C = L for ranks, T for positions) as [maxBatch·L, C] (allocated for C ≤ T_max).
    let logits: Tensor, dLogits: Tensor, compactLogits: Tensor
    private var hidden: UnsafeMutablePointer<Float>?

    init(
        _ model: CHAINModel, weight: Float, target: OrderTarget, shuffled: Float = 1, length: Int, maxBatch: Int,
        workers: Int
    ) {
        precondition(shuffled > 0 && shuffled <= 1, "the order pass's shuffled fraction must be in (0, 1]")
        let c = model.config, rows = maxBatch * length
        self.weight = weight
        self.target = target
        self.shuffled = shuffled
        self.length = length
        maxPositions = c.encoder.maxPositions
        modelSize = c.encoder.modelSize
        encoder = TransformerEncoder.Activations(model.encoder, maxBatch: maxBatch, seqLen: length, workers: workers)
        positions = [Int32](repeating: 0, count: rows)
        sourceRow = [Int](repeating: 0, count: rows)
        embedded = Tensor(shape: [rows, modelSize])
        dEmbedded = Tensor(shape: [rows, modelSize])
        dHidden = Tensor(shape: [rows, modelSize])
        logits = Tensor(shape: [rows, maxPositions])
        dLogits = Tensor(shape: [rows, maxPositions])
        compactLogits = Tensor(shape: [rows, target == .rank ? length : maxPositions])
    }

    func forward(_ step: StepContext, _ losses: inout StepLosses) {
        let model = step.model, view = step.views[0], batch = step.batch.count, l = length, d = modelSize
        precondition(view.keepsProjection && view.length == l, "the order pass needs view 0's projection")
        let rows = batch * l
        askedRows.removeAll(keepingCapacity: true)
        askedTargets.removeAll(keepingCapacity: true)
        // All frames moved: slot s is embedded where the views embed the s-th of L frames.
        var slotPositions = (0..<Int32(l)).map { $0 }
        slotPositions.withUnsafeMutableBufferPointer {
            model.config.positionIndex.positions(
                of: $0.baseAddress!, count: l, videoFrames: step.batch.frames, into: $0.baseAddress!)
        }
        for v in 0..<batch {
            let source = sources(&step.streams[v])  // slot s shows the view's frame source[s]
            for s in 0..<l {
                sourceRow[v * l + s] = v * l + source[s]
                (embedded.pointer + (v * l + s) * d).update(
                    from: view.projected.pointer + sourceRow[v * l + s] * d,
                    count: d)
                positions[v * l + s] = shuffled == 1 ? slotPositions[s] : view.encoderPositions[v * l + s]
                if shuffled == 1 || source[s] != s {
                    askedRows.append(v * l + s)
                    askedTargets.append(target == .rank ? Int32(source[s]) : view.positions[v * l + source[s]])
                }
            }
        }
        let out = positions.withUnsafeBufferPointer {
            model.encoder.forward(
                embedded: embedded.pointer, positions: $0.baseAddress!, batch: batch, encoder,
                model.store, rng: &step.rng, training: true)
        }
        hidden = out
        model.orderHead.forward(out, logits.pointer, rows: rows, model.store)
        let c = classes(step), asked = askedRows.count
        for (i, r) in askedRows.enumerated() {
            (compactLogits.pointer + i * c).update(from: logits.pointer + r * maxPositions, count: c)
        }
        let totalAsked = step.exchange.allGatherCounts(asked).reduce(0, +)
        let share = Float(asked) / Float(max(1, totalAsked))
        // The gradient is formed with the loss (into compactLogits, in place) and used in backward.
        let (loss, correct) = askedTargets.withUnsafeBufferPointer {
            SoftmaxCrossEntropy.lossAndGradient(
                logits: compactLogits.pointer, targets: $0.baseAddress!, rows: asked,
                classes: c, dLogits: compactLogits.pointer, weight: weight * share)
        }
        losses.order = loss * Double(share)
        losses.orderCorrect = correct
        losses.orderFrames = asked
    }

    /// Which of the view's frames each slot shows: a random permutation when every frame
    /// moves; else m random slots in random order c₀…c_{m−1}, slot c_{j+1} showing frame c_j
    /// (a random cycle, so each of them moves) and the other slots their own frames.
    func sources(_ stream: inout Philox) -> [Int] {
        let l = length, permutation = stream.permutation(l)
        guard shuffled < 1 else { return permutation }
        let m = min(l, max(2, Int((shuffled * Float(l)).rounded())))
        var source = Array(0..<l)
        for j in 0..<m { source[permutation[(j + 1) % m]] = permutation[j] }
        return source
    }

    func backwardAfterViews(_ step: StepContext) {
        let model = step.model, view = step.views[0], l = length, d = modelSize, rows = step.batch.count * l
        guard let hidden else { preconditionFailure("order pass: backward before forward") }
        dLogits.fill(0)
        let c = classes(step)
        for (i, r) in askedRows.enumerated() {
            (dLogits.pointer + r * maxPositions).update(from: compactLogits.pointer + i * c, count: c)
        }
        model.orderHead.backward(hidden, dLogits.pointer, dHidden.pointer, rows: rows, model.store)
        positions.withUnsafeBufferPointer {
            model.encoder.backward(
                dEmbedded: dEmbedded.pointer, positions: $0.baseAddress!, dOutput: dHidden.pointer,
                encoder, model.store)
        }
        for r in 0..<rows {
            VectorMath.add(dEmbedded.pointer + r * d, into: view.dProjected.pointer + sourceRow[r] * d, count: d)
        }
    }

    /// The head's outputs in use: L ranks, or T positions.
    func classes(_ step: StepContext) -> Int { target == .rank ? length : step.batch.frames }
}
