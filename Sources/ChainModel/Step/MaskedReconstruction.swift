import ChainNN
import ChainNumerics

/// Masked-frame reconstruction (ConMH's MAE objective), shared by both modes: per view, the
/// decoder sees S slots per video — the slots the view holds carry their frame codes, every
/// other slot is the mask token — and the reconstruction head predicts the features of the
/// masked slots. The loss is γ · Σ_masked ‖x̂ − x‖² / (masked slots · F) over the global
/// batch and both views.
///
/// - ConMH mode: the slots are the view's L frames, of which the encoder saw the visible
///   ones; targets are the view's (augmented) features. The ConMH step fills `slots`.
/// - Chain mode (γ > 0): the slots are the video's T frames, the view's L segment-sampled
///   frames are the visible ones (a frame sampled twice keeps its last row), and targets are
///   the clean features (`layoutFromVideoFrames`).
///
/// forward: decoder and head for both views, the loss and dL/dx̂. backward: head, decoder,
/// and the slots' input gradient added into the views' dCodes. The decoder has no dropout.
final class MaskedReconstruction: TrainingObjective {
    /// What the decoder of one view sees: [maxBatch·S] position, filling view row (−1:
    /// masked) and mask flag per slot, and the buffers of its pass.
    final class Slots {
        let perVideo: Int
        var positions: [Int32], sourceRow: [Int], masked: [Bool]
        /// [batch·S, F] what each slot should reconstruct (set every step).
        var targets: UnsafePointer<Float>?
        let decoder: TransformerEncoder.Activations
        /// [maxBatch·S, bits] decoder input and its gradient; [maxBatch·S, F] prediction and
        /// its gradient; [maxBatch·S, width] the decoder output's gradient.
        let input: Tensor, dInput: Tensor, prediction: Tensor, dPrediction: Tensor, dHidden: Tensor
        var decoded: UnsafeMutablePointer<Float>?

        init(_ model: CHAINModel, maxBatch: Int, perVideo: Int) {
            let c = model.config, f = c.encoder.inputSize, all = maxBatch * perVideo
            self.perVideo = perVideo
            positions = [Int32](repeating: 0, count: all)
            sourceRow = [Int](repeating: -1, count: all)
            masked = [Bool](repeating: true, count: all)
            decoder = TransformerEncoder.Activations(model.decoder!, maxBatch: maxBatch, seqLen: perVideo)
            input = Tensor(shape: [all, c.bits]); dInput = Tensor(shape: [all, c.bits])
            prediction = Tensor(shape: [all, f]); dPrediction = Tensor(shape: [all, f])
            dHidden = Tensor(shape: [all, c.conmh.decoderWidth])
        }
    }

    let weight: Float
    let maxBatch: Int
    /// Slots per video (ConMH: L), or nil for the video's T frames (chain mode).
    let fixedSlots: Int?
    let phase = "reconstruction"
    /// One per view; in chain mode allocated at the first step (and again only if T changes).
    private(set) var slots: [Slots]
    private var maskedGlobal = 0

    init(_ model: CHAINModel, weight: Float, maxBatch: Int, slotsPerVideo: Int?) {
        precondition(model.decoder != nil && model.reconstruction != nil, "reconstruction needs the model's decoder")
        self.weight = weight
        self.maxBatch = maxBatch
        fixedSlots = slotsPerVideo
        slots = slotsPerVideo.map { s in (0..<2).map { _ in Slots(model, maxBatch: maxBatch, perVideo: s) } } ?? []
    }

    /// Chain mode: slot v·T + t is frame t of video v; the view rows that sampled it fill it.
    func layoutFromVideoFrames(_ step: StepContext) {
        let batch = step.batch.count, frames = step.batch.frames
        if slots.first?.perVideo != frames {
            slots = step.views.map { _ in Slots(step.model, maxBatch: maxBatch, perVideo: frames) }
        }
        for (view, s) in zip(step.views, slots) {
            let l = view.length
            for i in 0..<(batch * frames) {
                s.masked[i] = true; s.sourceRow[i] = -1; s.positions[i] = Int32(i % frames)
            }
            for v in 0..<batch {
                for i in 0..<l {
                    let slot = v * frames + Int(view.positions[v * l + i])
                    s.masked[slot] = false
                    s.sourceRow[slot] = v * l + i
                }
            }
            s.targets = step.batch.features
        }
    }

    func forward(_ step: StepContext, _ losses: inout StepLosses) {
        if fixedSlots == nil { layoutFromVideoFrames(step) }
        let model = step.model, c = model.config, f = c.encoder.inputSize, bits = c.bits, batch = step.batch.count
        let decoder = model.decoder!, head = model.reconstruction!
        let maskedLocal = slots.reduce(0) { $0 + $1.masked[0..<(batch * $1.perVideo)].filter { $0 }.count }
        maskedGlobal = step.exchange.allGatherCounts(maskedLocal).reduce(0, +)
        guard maskedGlobal > 0 else { return }
        let scale = 2 * weight / Float(maskedGlobal * f)
        var sum = 0.0
        for (view, s) in zip(step.views, slots) {
            let rows = batch * s.perVideo
            s.input.fill(0)
            for slot in 0..<rows where s.sourceRow[slot] >= 0 {
                (s.input.pointer + slot * bits).update(from: view.codes.pointer + s.sourceRow[slot] * bits, count: bits)
            }
            var rng = Philox(seed: 0)  // the decoder has no dropout
            let decoded = s.positions.withUnsafeBufferPointer { p in
                s.masked.withUnsafeBufferPointer { m in
                    decoder.forward(
                        s.input.pointer, positions: p.baseAddress!, batch: batch, tokenMask: m.baseAddress!,
                        s.decoder, model.store, rng: &rng, training: true)
                }
            }
            s.decoded = decoded
            head.forward(decoded, s.prediction.pointer, rows: rows, model.store)
            guard let targets = s.targets else { preconditionFailure("reconstruction targets not set") }
            for slot in 0..<rows {
                let out = s.dPrediction.pointer + slot * f
                guard s.masked[slot] else { out.update(repeating: 0, count: f); continue }
                let p = s.prediction.pointer + slot * f, x = targets + slot * f
                for k in 0..<f {
                    let d = p[k] - x[k]
                    sum += Double(d * d)
                    out[k] = scale * d
                }
            }
        }
        losses.reconstruction = sum / Double(maskedGlobal * f)
    }

    func backward(_ step: StepContext) {
        guard maskedGlobal > 0 else { return }
        let model = step.model, bits = model.config.bits, batch = step.batch.count
        let decoder = model.decoder!, head = model.reconstruction!
        for (view, s) in zip(step.views, slots) {
            let rows = batch * s.perVideo
            guard let decoded = s.decoded else { preconditionFailure("reconstruction: backward before forward") }
            head.backward(decoded, s.dPrediction.pointer, s.dHidden.pointer, rows: rows, model.store)
            s.positions.withUnsafeBufferPointer {
                decoder.backward(
                    s.input.pointer, positions: $0.baseAddress!, dOutput: s.dHidden.pointer, s.decoder,
                    model.store, dFeatures: s.dInput.pointer)
            }
            for slot in 0..<rows where s.sourceRow[slot] >= 0 {
                VectorMath.add(
                    s.dInput.pointer + slot * bits, into: view.dCodes.pointer + s.sourceRow[slot] * bits,
                    count: bits)
            }
        }
    }
}
