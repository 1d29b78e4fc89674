import ChainNN
import ChainNumerics

/// Buffers of the reconstruction task on one CHAIN view (γ > 0 in chain mode): the decoder
/// sees all T slots of the video — the view's L sampled frames carry their frame codes, every
/// other frame is a mask token — and predicts the clean features of the frames the view did
/// not sample. It is ConMH's masked-frame reconstruction with the segment-sampled view as the
/// visible set (docs/method.md).
final class ViewReconstruction {
    let frames: Int
    let decoder: TransformerEncoder.Activations
    let input: Tensor, dInput: Tensor, prediction: Tensor, dPrediction: Tensor, dHidden: Tensor
    var positions: [Int32], masked: [Bool], sourceRow: [Int]

    init(_ model: CHAINModel, maxBatch: Int, frames: Int) {
        let c = model.config, f = c.encoder.inputSize, all = maxBatch * frames
        self.frames = frames
        decoder = TransformerEncoder.Activations(model.decoder!, maxBatch: maxBatch, seqLen: frames)
        input = Tensor(shape: [all, c.bits]); dInput = Tensor(shape: [all, c.bits])
        prediction = Tensor(shape: [all, f]); dPrediction = Tensor(shape: [all, f])
        dHidden = Tensor(shape: [all, c.conmh.decoderWidth])
        positions = (0..<all).map { Int32($0 % frames) }
        masked = [Bool](repeating: true, count: all)
        sourceRow = [Int](repeating: -1, count: all)
    }
}

extension CHAINTrainingStep {
    /// γ · Σ_unsampled ‖x̂ − x‖² / (unsampled frames · F) over the global batch and both views,
    /// where x is the clean feature of a frame no view row holds. Adds the gradient into the
    /// views' dCodes; returns this rank's share of the loss (unweighted).
    func reconstructionTerm(videos: UnsafePointer<Float>, batch: Int, frames: Int, exchange: BatchExchange) -> Double {
        let c = model.config, f = c.encoder.inputSize, bits = c.bits, l = c.views.viewLength
        let decoder = model.decoder!, head = model.reconstruction!
        if reconstruction.first?.frames != frames {
            reconstruction = views.map { _ in ViewReconstruction(model, maxBatch: maxBatch, frames: frames) }
        }
        // Which slots each view fills (a frame sampled twice keeps its last row).
        var maskedLocal = 0
        for (pass, r) in zip(views, reconstruction) {
            for i in 0..<(batch * frames) { r.masked[i] = true; r.sourceRow[i] = -1 }
            for v in 0..<batch {
                for i in 0..<l {
                    let slot = v * frames + Int(pass.positions[v * l + i])
                    r.masked[slot] = false
                    r.sourceRow[slot] = v * l + i
                }
            }
            maskedLocal += r.masked[0..<(batch * frames)].filter { $0 }.count
        }
        let maskedGlobal = exchange.allGatherCounts(maskedLocal).reduce(0, +)
        guard maskedGlobal > 0 else { return 0 }
        let scale = 2 * c.reconstructionWeight / Float(maskedGlobal * f)
        var sum = 0.0
        for (pass, r) in zip(views, reconstruction) {
            let rows = batch * frames
            r.input.buffer.update(repeating: 0)
            for slot in 0..<rows where r.sourceRow[slot] >= 0 {
                (r.input.pointer + slot * bits).update(from: pass.codes.pointer + r.sourceRow[slot] * bits, count: bits)
            }
            var rng = Philox(seed: 0)   // the decoder has no dropout
            let decoded = r.positions.withUnsafeBufferPointer { p in
                r.masked.withUnsafeBufferPointer { m in
                    decoder.forward(r.input.pointer, positions: p.baseAddress!, batch: batch, tokenMask: m.baseAddress!,
                                    r.decoder, model.store, rng: &rng, training: true)
                }
            }
            head.forward(decoded, r.prediction.pointer, rows: rows, model.store)
            for slot in 0..<rows {
                let out = r.dPrediction.pointer + slot * f
                guard r.masked[slot] else { out.update(repeating: 0, count: f); continue }
                let p = r.prediction.pointer + slot * f, x = videos + slot * f   // slot v·T + t is frame t of video v
                for k in 0..<f {
                    let d = p[k] - x[k]
                    sum += Double(d * d)
                    out[k] = scale * d
                }
            }
            head.backward(decoded, r.dPrediction.pointer, r.dHidden.pointer, rows: rows, model.store)
            r.positions.withUnsafeBufferPointer {
                decoder.backward(r.input.pointer, positions: $0.baseAddress!, dOutput: r.dHidden.pointer, r.decoder, model.store,
                                 dFeatures: r.dInput.pointer)
            }
            for slot in 0..<rows where r.sourceRow[slot] >= 0 {
                VectorMath.add(r.dInput.pointer + slot * bits, into: pass.dCodes.pointer + r.sourceRow[slot] * bits, count: bits)
            }
        }
        return sum / Double(maskedGlobal * f)
    }
}
