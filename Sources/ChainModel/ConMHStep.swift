import ChainNN
import ChainNumerics

/// Buffers of one masked view in ConMH mode: the encoder sees V visible frames of the view's
/// L; the decoder sees all L slots (visible: their frame codes; masked: the mask token).
final class ConMHPass {
    let visible: Int, length: Int
    let viewFeatures: Tensor
    let features: Tensor
    var positions: [Int32], fullPositions: [Int32], masked: [Bool], visibleSlots: [Int]
    let encoder: TransformerEncoder.Activations, decoder: TransformerEncoder.Activations
    let hash: HashLayer.Activations
    let codes: Tensor, dCodes: Tensor, dHidden: Tensor
    let decoderInput: Tensor, dDecoderInput: Tensor, prediction: Tensor, dPrediction: Tensor, dDecoderHidden: Tensor

    init(_ model: CHAINModel, maxBatch: Int) {
        let c = model.config, f = c.encoder.inputSize
        length = c.views.viewLength
        visible = max(1, length - Int((c.conmh.maskRatio * Float(length)).rounded()))
        let rows = maxBatch * visible, all = maxBatch * length
        viewFeatures = Tensor(shape: [all, f])
        features = Tensor(shape: [rows, f])
        positions = [Int32](repeating: 0, count: rows)
        fullPositions = [Int32](repeating: 0, count: all)
        masked = [Bool](repeating: false, count: all)
        visibleSlots = [Int](repeating: 0, count: rows)
        encoder = TransformerEncoder.Activations(model.encoder, maxBatch: maxBatch, seqLen: visible)
        decoder = TransformerEncoder.Activations(model.decoder!, maxBatch: maxBatch, seqLen: length)
        hash = HashLayer.Activations(model.hash, maxRows: rows)
        codes = Tensor(shape: [rows, c.bits])
        dCodes = Tensor(shape: [rows, c.bits])
        dHidden = Tensor(shape: [rows, c.encoder.modelSize])
        decoderInput = Tensor(shape: [all, c.bits])
        dDecoderInput = Tensor(shape: [all, c.bits])
        prediction = Tensor(shape: [all, f])
        dPrediction = Tensor(shape: [all, f])
        dDecoderHidden = Tensor(shape: [all, c.conmh.decoderWidth])
    }
}

extension CHAINTrainingStep {
    /// ConMH: two masked views; the debiased contrastive loss on the mean of the visible
    /// frames' codes, and the MSE of reconstructing the masked frames' features from the
    /// codes of the visible ones, Σ_masked ‖x̂ − x‖² / (masked frames · F) over the global batch.
    func runConMH(videos: UnsafePointer<Float>, batch: Int, frames: Int, featureStd: UnsafePointer<Float>?,
                  augmented: AugmentedCopies?, rng: inout Philox, streams: inout [Philox],
                  exchange: BatchExchange) -> Losses {
        let c = model.config, f = c.encoder.inputSize, bits = c.bits
        let decoder = model.decoder!, head = model.reconstruction!
        precondition(batch >= 1 && batch <= maxBatch, "batch \(batch) outside 1...\(maxBatch)")
        var losses = Losses()

        // Views: L frames (segment sampling; all frames with ConMH's defaults), M of them masked.
        for pass in conmh {
            let l = pass.length, v = pass.visible
            for video in 0..<batch {
                let picked = c.views.sample(frames: frames, rng: &streams[video])
                fillView(pass.viewFeatures.pointer + video * l * f, video: video, picked: picked, videos: videos,
                         frames: frames, featureStd: featureStd, augmented: augmented, rng: &streams[video])
                for (i, t) in picked.enumerated() { pass.fullPositions[video * l + i] = Int32(t) }
                let order = streams[video].permutation(l)
                let shown = Array(order[(l - v)...]).sorted()
                for i in 0..<l { pass.masked[video * l + i] = true }
                for (j, slot) in shown.enumerated() {
                    pass.masked[video * l + slot] = false
                    pass.visibleSlots[video * v + j] = slot
                    (pass.features.pointer + (video * v + j) * f).update(from: pass.viewFeatures.pointer + (video * l + slot) * f, count: f)
                    pass.positions[video * v + j] = pass.fullPositions[video * l + slot]
                }
            }
            let hidden = pass.positions.withUnsafeBufferPointer {
                model.encoder.forward(pass.features.pointer, positions: $0.baseAddress!, batch: batch, pass.encoder,
                                      model.store, rng: &rng, training: true)
            }
            model.hash.forward(hidden, pass.codes.pointer, rows: batch * v, pass.hash, model.store, activation: c.hashActivation)
            pass.dCodes.buffer.update(repeating: 0)
        }

        if c.usesContrastive {
            losses.contrastive = contrastiveTerm(conmh.map { ($0.codes.pointer, $0.dCodes.pointer) }, batch: batch,
                                                 framesPerVideo: conmh[0].visible, exchange: exchange)
        }

        // Reconstruction of the masked frames.
        let maskedLocal = conmh.reduce(0) { $0 + batch * ($1.length - $1.visible) }
        let maskedGlobal = exchange.allGatherCounts(maskedLocal).reduce(0, +)
        let gamma = c.conmh.reconstructionWeight
        for pass in conmh {
            let l = pass.length, v = pass.visible, rows = batch * l
            pass.decoderInput.buffer.update(repeating: 0)
            for r in 0..<(batch * v) {
                let video = r / v, slot = pass.visibleSlots[r]
                (pass.decoderInput.pointer + (video * l + slot) * bits).update(from: pass.codes.pointer + r * bits, count: bits)
            }
            let decoded = pass.fullPositions.withUnsafeBufferPointer { p in
                pass.masked.withUnsafeBufferPointer { m in
                    decoder.forward(pass.decoderInput.pointer, positions: p.baseAddress!, batch: batch, tokenMask: m.baseAddress!,
                                    pass.decoder, model.store, rng: &rng, training: true)
                }
            }
            head.forward(decoded, pass.prediction.pointer, rows: rows, model.store)
            var sum = 0.0
            let scale = 2 * gamma / Float(maskedGlobal * f)
            for r in 0..<rows {
                let out = pass.dPrediction.pointer + r * f
                guard pass.masked[r] else { out.update(repeating: 0, count: f); continue }
                let p = pass.prediction.pointer + r * f, x = pass.viewFeatures.pointer + r * f
                for k in 0..<f {
                    let d = p[k] - x[k]
                    sum += Double(d * d)
                    out[k] = scale * d
                }
            }
            losses.reconstruction += sum / Double(maskedGlobal * f)
            head.backward(decoded, pass.dPrediction.pointer, pass.dDecoderHidden.pointer, rows: rows, model.store)
            pass.fullPositions.withUnsafeBufferPointer {
                decoder.backward(pass.decoderInput.pointer, positions: $0.baseAddress!, dOutput: pass.dDecoderHidden.pointer,
                                 pass.decoder, model.store, dFeatures: pass.dDecoderInput.pointer)
            }
            for r in 0..<(batch * v) {
                let video = r / v, slot = pass.visibleSlots[r]
                VectorMath.add(pass.dDecoderInput.pointer + (video * l + slot) * bits, into: pass.dCodes.pointer + r * bits, count: bits)
            }
        }

        for pass in conmh {
            let hidden = pass.encoder.output.pointer, rows = batch * pass.visible
            model.hash.backward(hidden, pass.dCodes.pointer, pass.dHidden.pointer, rows: rows, pass.hash, model.store)
            pass.positions.withUnsafeBufferPointer {
                model.encoder.backward(pass.features.pointer, positions: $0.baseAddress!, dOutput: pass.dHidden.pointer,
                                       pass.encoder, model.store)
            }
        }
        losses.total = Double(c.contrastiveWeight) * losses.contrastive + Double(gamma) * losses.reconstruction
        return losses
    }
}
