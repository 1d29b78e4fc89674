import ChainNumerics

/// softmax(Q·Kᵀ/√d_h + mask)·V for every (sequence, head), reading Q, K and V in place from
/// a packed QKV matrix and writing the heads side by side into a context matrix.
///
/// Sequences are short (tens of frames), so each (sequence, head) problem is a few
/// kilobytes: the loops below keep it in L1 and vectorise over the head width instead of
/// paying sgemm's per-call overhead on 25×32 matrices.
public struct ScaledDotProductAttention: Sendable {
    public let heads: Int
    public let headSize: Int
    public var innerSize: Int { heads * headSize }

    public init(heads: Int, headSize: Int) {
        self.heads = heads
        self.headSize = headSize
    }

    /// qkv: [batch·seqLen, 3·inner] laid out [Q | K | V], head h at columns h·headSize.
    /// probs: [batch, heads, seqLen, seqLen] softmax output (saved for backward).
    /// dropMask: if given, [batch, heads, seqLen, seqLen] dropout scales applied to probs
    /// (already drawn). keyPadding: [batch·seqLen], true = the key is padding (ignored).
    /// context: [batch·seqLen, inner].
    public func forward(qkv: UnsafePointer<Float>, probs: UnsafeMutablePointer<Float>,
                        dropMask: UnsafePointer<Float>?, keyPadding: UnsafePointer<Bool>?,
                        context: UnsafeMutablePointer<Float>, batch: Int, seqLen: Int) {
        let inner = innerSize, rowStride = 3 * inner, t = seqLen, dh = headSize
        let scale = 1 / Float(dh).squareRoot()
        for b in 0..<batch {
            for h in 0..<heads {
                let q = qkv + b * t * rowStride + h * dh
                let k = q + inner, v = q + 2 * inner
                let p = probs + (b * heads + h) * t * t
                for i in 0..<t {
                    let qi = q + i * rowStride, pi = p + i * t
                    for j in 0..<t {
                        if let keyPadding, keyPadding[b * t + j] { pi[j] = -.infinity; continue }
                        pi[j] = VectorMath.dotFloat(qi, k + j * rowStride, count: dh) * scale
                    }
                }
                Softmax.forward(p, p, rows: t, columns: t)
                let m = dropMask.map { $0 + (b * heads + h) * t * t }
                for i in 0..<t {
                    let out = context + (b * t + i) * inner + h * dh
                    out.update(repeating: 0, count: dh)
                    for j in 0..<t {
                        var w = p[i * t + j]
                        if let m { w *= m[i * t + j] }
                        if w == 0 { continue }
                        let vj = v + j * rowStride
                        for c in 0..<dh { out[c] += w * vj[c] }
                    }
                }
            }
        }
    }

    /// Given dContext, writes dQKV (overwritten). scratch: at least seqLen² floats.
    public func backward(qkv: UnsafePointer<Float>, probs: UnsafePointer<Float>,
                         dropMask: UnsafePointer<Float>?, dContext: UnsafePointer<Float>,
                         dQKV: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                         batch: Int, seqLen: Int) {
        let inner = innerSize, rowStride = 3 * inner, t = seqLen, dh = headSize
        let scale = 1 / Float(dh).squareRoot()
        dQKV.update(repeating: 0, count: batch * t * rowStride)
        for b in 0..<batch {
            for h in 0..<heads {
                let q = qkv + b * t * rowStride + h * dh
                let k = q + inner, v = q + 2 * inner
                let dq = dQKV + b * t * rowStride + h * dh
                let dk = dq + inner, dv = dq + 2 * inner
                let p = probs + (b * heads + h) * t * t
                let m = dropMask.map { $0 + (b * heads + h) * t * t }
                let dp = scratch
                // dP' = dC·Vᵀ and dV = P'ᵀ·dC, with P' the dropped probabilities.
                for i in 0..<t {
                    let dci = dContext + (b * t + i) * inner + h * dh
                    for j in 0..<t {
                        let vj = v + j * rowStride
                        var s = VectorMath.dotFloat(dci, vj, count: dh)
                        var w = p[i * t + j]
                        if let m { s *= m[i * t + j]; w *= m[i * t + j] }
                        dp[i * t + j] = s
                        if w != 0 {
                            let dvj = dv + j * rowStride
                            for c in 0..<dh { dvj[c] += w * dci[c] }
                        }
                    }
                }
                // Through the softmax, then dQ = dS·K·scale and dK = dSᵀ·Q·scale.
                Softmax.backward(p, dp, dp, rows: t, columns: t)
                for i in 0..<t {
                    let qi = q + i * rowStride, dqi = dq + i * rowStride
                    for j in 0..<t {
                        let ds = dp[i * t + j] * scale
                        if ds == 0 { continue }
                        let kj = k + j * rowStride, dkj = dk + j * rowStride
                        for c in 0..<dh {
                            dqi[c] += ds * kj[c]
                            dkj[c] += ds * qi[c]
                        }
                    }
                }
            }
        }
    }
}
