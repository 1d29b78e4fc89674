import ChainNN
import ChainNumerics
import ChainTestSupport
import XCTest

/// The attention kernels against a plain double-precision implementation, on shapes that
/// take each path: short sequences (scores in registers) and long ones (t > 32), head widths
/// that are multiples of 8 and ones with a tail, with dropout scales and key padding.
final class AttentionKernelTests: XCTestCase {
    func testForwardAndBackwardMatchAPlainImplementation() {
        for (t, heads, dh) in [(5, 2, 4), (25, 8, 32), (40, 3, 42), (33, 1, 16)] {
            let batch = 2, inner = heads * dh, stride = 3 * inner
            let core = ScaledDotProductAttention(heads: heads, headSize: dh)
            let qkv = TestData.gaussian(batch * t * stride, seed: UInt64(t))
            let dContext = TestData.gaussian(batch * t * inner, seed: UInt64(t + 1))
            var g = Philox(seed: UInt64(t + 2))
            let mask = (0..<(batch * heads * t * t)).map { _ in g.nextUniform() < 0.8 ? Float(1.25) : 0 }
            let padding = (0..<(batch * t)).map { $0 % t == t - 1 }  // the last frame of each sequence
            var probs = [Float](repeating: 0, count: batch * heads * t * t)
            var context = [Float](repeating: 0, count: batch * t * inner)
            var dQKV = [Float](repeating: .nan, count: batch * t * stride)  // every entry must be written
            var scratch = [Float](repeating: 0, count: core.scratchCount(seqLen: t))
            core.forward(
                qkv: qkv, probs: &probs, dropMask: mask, keyPadding: padding, context: &context, scratch: &scratch,
                batch: batch, seqLen: t)
            core.backward(
                qkv: qkv, probs: probs, dropMask: mask, dContext: dContext, dQKV: &dQKV, scratch: &scratch,
                batch: batch, seqLen: t)

            // Reference, in double precision.
            var refContext = [Double](repeating: 0, count: context.count),
                refD = [Double](repeating: 0, count: dQKV.count)
            let scale = 1 / Double(dh).squareRoot()
            for b in 0..<batch {
                for h in 0..<heads {
                    func q(_ i: Int, _ c: Int) -> Double { Double(qkv[(b * t + i) * stride + h * dh + c]) }
                    func k(_ i: Int, _ c: Int) -> Double { Double(qkv[(b * t + i) * stride + inner + h * dh + c]) }
                    func v(_ i: Int, _ c: Int) -> Double { Double(qkv[(b * t + i) * stride + 2 * inner + h * dh + c]) }
                    func m(_ i: Int, _ j: Int) -> Double { Double(mask[((b * heads + h) * t + i) * t + j]) }
                    for i in 0..<t {
                        var s = (0..<t).map { j in
                            padding[b * t + j]
                                ? -Double.infinity : (0..<dh).reduce(0.0) { $0 + q(i, $1) * k(j, $1) } * scale
                        }
                        let top = s.max()!
                        s = s.map { Foundation.exp($0 - top) }
                        let total = s.reduce(0, +)
                        let p = s.map { $0 / total }
                        for j in 0..<t {
                            XCTAssertEqual(Double(probs[((b * heads + h) * t + i) * t + j]), p[j], accuracy: 1e-6)
                        }
                        let dc = (0..<dh).map { Double(dContext[(b * t + i) * inner + h * dh + $0]) }
                        for c in 0..<dh {
                            refContext[(b * t + i) * inner + h * dh + c] = (0..<t).reduce(0.0) {
                                $0 + p[$1] * m(i, $1) * v($1, c)
                            }
                        }
                        let dp = (0..<t).map { j in (0..<dh).reduce(0.0) { $0 + dc[$1] * v(j, $1) } * m(i, j) }
                        let dot = (0..<t).reduce(0.0) { $0 + dp[$1] * p[$1] }
                        let ds = (0..<t).map { p[$0] * (dp[$0] - dot) * scale }
                        for j in 0..<t {
                            for c in 0..<dh {
                                refD[(b * t + i) * stride + h * dh + c] += ds[j] * k(j, c)
                                refD[(b * t + j) * stride + inner + h * dh + c] += ds[j] * q(i, c)
                                refD[(b * t + j) * stride + 2 * inner + h * dh + c] += p[j] * m(i, j) * dc[c]
                            }
                        }
                    }
                }
            }
            XCTAssertFalse(dQKV.contains { $0.isNaN }, "an entry of dQKV was not written")
            let contextError = zip(context, refContext).map { abs(Double($0) - $1) }.max()!
            let gradientError = zip(dQKV, refD).map { abs(Double($0) - $1) }.max()!
            XCTAssertLessThan(contextError, 1e-5, "context, t \(t), head width \(dh)")
            XCTAssertLessThan(gradientError, 1e-5, "dQKV, t \(t), head width \(dh)")
        }
    }
}
