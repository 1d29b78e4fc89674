import ChainNN
import ChainNumerics
import ChainTestSupport
import XCTest

/// Splitting a batch over worker threads changes nothing but the order of gradient sums.
final class EncoderWorkerTests: XCTestCase {
    func testWorkersGiveTheSingleThreadResult() {
        let config = EncoderConfig(
            inputSize: 12, modelSize: 16, layers: 2, heads: 2, ffnSize: 24, maxPositions: 6,
            placement: .post, dropout: 0.2, attentionDropout: 0.1, finalNorm: true, maskToken: true)
        var layout = ParameterLayout()
        let encoder = TransformerEncoder("e", config: config, layout: &layout)
        let batch = 7, t = 5, rows = batch * t
        let features = TestData.gaussian(rows * 12, seed: 1)
        let dOut = TestData.gaussian(rows * 16, seed: 2)
        let positions = (0..<rows).map { Int32(($0 * 7) % 6) }
        let tokenMask = (0..<rows).map { $0 % 4 == 1 }
        var outputs: [[Float]] = [], gradients: [[Float]] = [], featureGradients: [[Float]] = []
        for workers in [1, 2, 3] {
            let store = ParameterStore(layout: layout)
            store.initialize(Philox(seed: 3))
            let acts = TransformerEncoder.Activations(encoder, maxBatch: 8, seqLen: t, workers: workers)
            var rng = Philox(seed: 4)
            let dFeatures = Tensor(shape: [rows, 12])
            features.withUnsafeBufferPointer { x in
                positions.withUnsafeBufferPointer { p in
                    tokenMask.withUnsafeBufferPointer { m in
                        let y = encoder.forward(
                            x.baseAddress!, positions: p.baseAddress!, batch: batch, tokenMask: m.baseAddress!,
                            acts, store, rng: &rng, training: true)
                        outputs.append(Array(UnsafeBufferPointer(start: y, count: rows * 16)))
                        encoder.backward(
                            x.baseAddress!, positions: p.baseAddress!, dOutput: dOut, acts, store,
                            dFeatures: dFeatures.pointer)
                    }
                }
            }
            gradients.append(store.gradients.toArray())
            featureGradients.append(dFeatures.toArray())
            XCTAssertEqual(rng.state, Philox(seed: 4).state.advanced(by: 4), "a pass consumes two 64-bit words")
        }
        // sgemm may block a product of fewer rows differently, so sums round differently: equal to
        // float precision, not bit for bit. A different dropout mask would be off by O(1).
        for w in 1..<3 {
            XCTAssertLessThan(maxDifference(outputs[w], outputs[0]), 1e-5, "outputs with \(w + 1) workers")
            XCTAssertLessThan(maxDifference(featureGradients[w], featureGradients[0]), 1e-5)
            XCTAssertLessThan(maxDifference(gradients[w], gradients[0]), 1e-5 * (gradients[0].map(abs).max() ?? 1))
        }
        XCTAssertTrue(gradients[0].contains { $0 != 0 })
    }
}

func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

private extension Philox.RandomState {
    func advanced(by words: UInt64) -> Self { .init(seed: seed, stream: stream, position: position + words) }
}
