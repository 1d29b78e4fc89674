import ChainNN
import ChainNumerics

/// One view of every video of a batch on its way through the encoder and the hash layer,
/// with the buffers of its forward and backward pass (allocated once for `maxBatch`).
///
/// The objectives read `codes` (frame codes b = sign(h)) and `hash.normalized` (h), and add
/// their gradients into `dCodes` and `dNormalized`; `backward` then takes both through the
/// hash layer and the encoder.
///
/// With `keepsProjection`, forward keeps the frames' projection (F → d) in `projected` for a
/// pass that permutes them (the frame-order task), which adds its gradient into
/// `dProjected`; `backwardProjection` then forms both passes' weight gradient in one product.
public final class ViewPass {
    /// Frames per video the encoder sees in this view.
    public let length: Int
    let maxBatch: Int
    /// [maxBatch·length, F] the view's input features.
    public let features: Tensor
    /// [maxBatch·length] each row's frame index in the video (what the objectives read).
    var positions: [Int32]
    /// [maxBatch·length] the position the encoder embeds each row at: `positions` mapped by
    /// the model's `PositionIndex` in `forward` (the frame index itself by default).
    private(set) var encoderPositions: [Int32]
    let encoder: TransformerEncoder.Activations
    let hash: HashLayer.Activations
    /// [maxBatch·length, bits] frame codes and their gradient; dNormalized: the gradient of h.
    let codes: Tensor, dCodes: Tensor, dNormalized: Tensor
    /// [maxBatch·length, d] the gradient at the encoder's output.
    let dHidden: Tensor
    /// [maxBatch·length, d] (empty unless `keepsProjection`).
    let projected: Tensor, dProjected: Tensor
    public let keepsProjection: Bool
    /// Videos in the current batch.
    private(set) var batch = 0

    init(_ model: CHAINModel, maxBatch: Int, length: Int, workers: Int, keepsProjection: Bool = false) {
        let c = model.config, rows = maxBatch * length, d = c.encoder.modelSize
        self.length = length
        self.maxBatch = maxBatch
        self.keepsProjection = keepsProjection
        features = Tensor(shape: [rows, c.encoder.inputSize])
        positions = [Int32](repeating: 0, count: rows)
        encoderPositions = positions
        encoder = TransformerEncoder.Activations(model.encoder, maxBatch: maxBatch, seqLen: length, workers: workers)
        hash = HashLayer.Activations(model.hash, maxRows: rows)
        codes = Tensor(shape: [rows, c.bits])
        dCodes = Tensor(shape: [rows, c.bits])
        dNormalized = Tensor(shape: [rows, c.bits])
        dHidden = Tensor(shape: [rows, d])
        projected = Tensor(shape: [keepsProjection ? rows : 0, d])
        dProjected = Tensor(shape: [keepsProjection ? rows : 0, d])
    }

    /// Rows in use: batch · length.
    var rows: Int { batch * length }

    /// Encoder then hash layer on `batch` videos of `features`/`positions` (frame indices
    /// into videos of `frames` frames); clears the code gradients for the objectives.
    func forward(_ model: CHAINModel, batch: Int, frames: Int, rng: inout Philox, workers: Int) {
        precondition(batch >= 1 && batch <= maxBatch, "batch \(batch) outside 1...\(maxBatch)")
        self.batch = batch
        let rows = self.rows, l = length, index = model.config.positionIndex
        positions.withUnsafeBufferPointer { frameIndex in
            encoderPositions.withUnsafeMutableBufferPointer { out in
                for v in 0..<batch {
                    index.positions(
                        of: frameIndex.baseAddress! + v * l, count: l, videoFrames: frames,
                        into: out.baseAddress! + v * l)
                }
            }
        }
        let hidden = encoderPositions.withUnsafeBufferPointer { p in
            if keepsProjection {
                model.encoder.projection.forward(
                    features.pointer, projected.pointer, rows: rows, model.store,
                    workers: workers)
                return model.encoder.forward(
                    embedded: projected.pointer, positions: p.baseAddress!, batch: batch,
                    encoder, model.store, rng: &rng, training: true)
            }
            return model.encoder.forward(
                features.pointer, positions: p.baseAddress!, batch: batch, encoder,
                model.store, rng: &rng, training: true)
        }
        model.hash.forward(
            hidden, codes.pointer, rows: rows, hash, model.store, activation: model.config.hashActivation,
            input: shortcutInput(model))
        UnsafeMutableBufferPointer(start: dCodes.pointer, count: dCodes.count).update(repeating: 0)
        UnsafeMutableBufferPointer(start: dNormalized.pointer, count: dNormalized.count).update(repeating: 0)
        if keepsProjection { dProjected.fill(0) }
    }

    /// dCodes, dNormalized → hash layer → encoder, accumulating parameter gradients (with
    /// `keepsProjection`, down to `dProjected` only).
    func backward(_ model: CHAINModel) {
        let rows = self.rows
        model.hash.backward(
            encoder.output.pointer, dCodes.pointer, dHidden.pointer, rows: rows, hash, model.store,
            dNormalized: dNormalized.pointer, input: shortcutInput(model))
        encoderPositions.withUnsafeBufferPointer {
            if keepsProjection {
                model.encoder.backward(
                    dEmbedded: dProjected.pointer, positions: $0.baseAddress!, dOutput: dHidden.pointer,
                    encoder, model.store)
            } else {
                model.encoder.backward(
                    features.pointer, positions: $0.baseAddress!, dOutput: dHidden.pointer, encoder,
                    model.store)
            }
        }
    }

    /// The view's input features when the hash layer has an input shortcut.
    private func shortcutInput(_ model: CHAINModel) -> UnsafePointer<Float>? {
        model.hash.shortcut == nil ? nil : UnsafePointer(features.pointer)
    }

    /// With `keepsProjection`: the projection's weight gradient from `dProjected` (this pass's
    /// and the permuting pass's), in one product.
    func backwardProjection(_ model: CHAINModel, workers: Int) {
        guard keepsProjection else { return }
        model.encoder.projection.backwardParameters(
            features.pointer, dProjected.pointer, rows: rows, model.store,
            workers: workers)
    }
}
