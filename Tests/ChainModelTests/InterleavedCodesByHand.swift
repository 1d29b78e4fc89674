import ChainModel
import ChainNN
import ChainNumerics

/// The codes `CHAINModel.encode` must give with `views` interleaved sequences, computed by
/// hand: sequence j holds frames j, j+k, j+2k, … of each video, its i-th frame embedded at
/// `position(i, j)`, and a video's code is the sign of the sum of all its frame codes.
func interleavedCodesByHand(
    _ model: CHAINModel, videos: [Float], batch: Int, frames: Int, views: Int,
    position: (_ i: Int, _ sequence: Int) -> Int32
) -> [Float] {
    let f = model.config.encoder.inputSize, bits = model.config.bits, length = frames / views
    var sums = [Float](repeating: 0, count: batch * bits)
    var rng = Philox(seed: 0)
    let acts = TransformerEncoder.Activations(model.encoder, maxBatch: batch, seqLen: length)
    let hashActs = HashLayer.Activations(model.hash, maxRows: batch * length)
    let frameCodes = Tensor(shape: [batch * length, bits])
    for view in 0..<views {
        var input: [Float] = [], positions: [Int32] = []
        for v in 0..<batch {
            for i in 0..<length {
                let frame = view + i * views
                input += videos[((v * frames + frame) * f)..<((v * frames + frame + 1) * f)]
                positions.append(position(i, view))
            }
        }
        input.withUnsafeBufferPointer { x in
            positions.withUnsafeBufferPointer { p in
                let h = model.encoder.forward(
                    x.baseAddress!, positions: p.baseAddress!, batch: batch, acts, model.store,
                    rng: &rng, training: false)
                model.hash.forward(h, frameCodes.pointer, rows: batch * length, hashActs, model.store)
            }
        }
        for v in 0..<batch {
            for i in 0..<length {
                for b in 0..<bits { sums[v * bits + b] += frameCodes[(v * length + i) * bits + b] }
            }
        }
    }
    return sums.map { $0 < 0 ? -1 : 1 }
}
