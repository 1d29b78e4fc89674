import ChainNN
import ChainNumerics

/// View 0 played backwards, as a negative of the contrastive task (`reversed_negatives`).
///
/// Slot s of video v shows the view's frame L−1−s at the view's position s (the frame index
/// t_s that slot had): the same frames, the same times, the order reversed. Its code (the
/// mean of its frame codes, as a view's) joins the global batch as a candidate that is never
/// an anchor. Content alone cannot push it away from the video — every frame is shared — so
/// the loss can only fall by making the code depend on which content comes when: the
/// order the paper's second task is meant to teach, asked of the code itself instead of a
/// head over the encoder's frames. On shots, where half the classes are the reversals of the
/// other half, the reversed view *is* a video of another class.
///
/// forward: reversed projection [batch·L, d] → encoder → hash layer → codes [batch·L, bits]
/// → video codes [batch, bits]. backward (after the views'): dVideo codes spread over the
/// frames → hash layer → encoder → view 0's dProjected, unreversed.
final class ReversedViewPass {
    let length: Int, modelSize: Int, bits: Int
    let encoder: TransformerEncoder.Activations
    let hash: HashLayer.Activations
    /// [maxBatch·L, d] the reversed projection and its gradient; dHidden at the encoder output.
    let embedded: Tensor, dEmbedded: Tensor, dHidden: Tensor
    /// [maxBatch·L, F] the reversed input features (only with the hash layer's input shortcut).
    let features: Tensor
    /// [maxBatch·L, bits] frame codes and their gradient.
    let codes: Tensor, dCodes: Tensor
    private var hidden: UnsafeMutablePointer<Float>?
    private var batch = 0

    init(_ model: CHAINModel, maxBatch: Int, length: Int, workers: Int) {
        let c = model.config, rows = maxBatch * length
        self.length = length
        modelSize = c.encoder.modelSize
        bits = c.bits
        encoder = TransformerEncoder.Activations(model.encoder, maxBatch: maxBatch, seqLen: length, workers: workers)
        hash = HashLayer.Activations(model.hash, maxRows: rows)
        embedded = Tensor(shape: [rows, modelSize])
        dEmbedded = Tensor(shape: [rows, modelSize])
        dHidden = Tensor(shape: [rows, modelSize])
        features = Tensor(shape: [model.hash.shortcut == nil ? 0 : rows, c.encoder.inputSize])
        codes = Tensor(shape: [rows, bits])
        dCodes = Tensor(shape: [rows, bits])
    }

    /// The row of view 0 that slot row r shows.
    @inline(__always) func sourceRow(_ r: Int) -> Int { (r / length) * length + length - 1 - r % length }

    /// Writes video v's reversed code (mean of its frame codes) to `videoCodes + v·bits`.
    func forward(_ step: StepContext, videoCodes: UnsafeMutablePointer<Float>) {
        let model = step.model, view = step.views[0], l = length, d = modelSize
        precondition(view.keepsProjection && view.length == l, "the reversed view needs view 0's projection")
        batch = step.batch.count
        let rows = batch * l, f = features.count > 0 ? model.config.encoder.inputSize : 0
        for r in 0..<rows {
            let source = sourceRow(r)
            (embedded.pointer + r * d).update(from: view.projected.pointer + source * d, count: d)
            if f > 0 { (features.pointer + r * f).update(from: view.features.pointer + source * f, count: f) }
        }
        // Slot s keeps view 0's position for slot s: the positions are view 0's own.
        let out = view.encoderPositions.withUnsafeBufferPointer {
            model.encoder.forward(
                embedded: embedded.pointer, positions: $0.baseAddress!, batch: batch, encoder,
                model.store, rng: &step.rng, training: true)
        }
        hidden = out
        model.hash.forward(
            out, codes.pointer, rows: rows, hash, model.store, activation: model.config.hashActivation,
            input: f > 0 ? UnsafePointer(features.pointer) : nil)
        ContrastiveObjective.meanOverFrames(codes.pointer, into: videoCodes, videos: batch, length: l, bits: bits)
    }

    /// dVideoCodes [batch, bits] (already weighted) → the frames → hash layer → encoder → view
    /// 0's dProjected.
    func backward(_ step: StepContext, dVideoCodes: UnsafePointer<Float>) {
        let model = step.model, view = step.views[0], l = length, d = modelSize, rows = batch * l
        guard let hidden else { preconditionFailure("reversed view: backward before forward") }
        for r in 0..<rows {
            (dCodes.pointer + r * bits).update(from: dVideoCodes + (r / l) * bits, count: bits)
            VectorMath.scale(dCodes.pointer + r * bits, by: 1 / Float(l), count: bits)
        }
        model.hash.backward(
            hidden, dCodes.pointer, dHidden.pointer, rows: rows, hash, model.store,
            input: features.count > 0 ? UnsafePointer(features.pointer) : nil)
        view.encoderPositions.withUnsafeBufferPointer {
            model.encoder.backward(
                dEmbedded: dEmbedded.pointer, positions: $0.baseAddress!, dOutput: dHidden.pointer,
                encoder, model.store)
        }
        for r in 0..<rows {
            VectorMath.add(dEmbedded.pointer + r * d, into: view.dProjected.pointer + sourceRow(r) * d, count: d)
        }
    }
}
