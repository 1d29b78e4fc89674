import CKernels
import ChainNumerics

/// softmax(Q·Kᵀ/√d_h + mask)·V for every (sequence, head), reading Q, K and V in place from
/// a packed QKV matrix and writing the heads side by side into a context matrix.
///
/// Sequences are short (tens of frames), so each (sequence, head) problem is a few
/// kilobytes: the C kernels (`CKernels/attention.c`) keep it in L1 and vectorise over keys
/// and channels instead of paying sgemm's per-call overhead on 25×32 matrices.
public struct ScaledDotProductAttention: Sendable {
    public let heads: Int
    public let headSize: Int
    public var innerSize: Int { heads * headSize }

    public init(heads: Int, headSize: Int) {
        self.heads = heads
        self.headSize = headSize
    }

    /// Floats of scratch `forward` and `backward` need.
    public func scratchCount(seqLen: Int) -> Int { Int(chain_attention_scratch_count(Int64(seqLen), Int64(headSize))) }

    /// qkv: [batch·seqLen, 3·inner] laid out [Q | K | V], head h at columns h·headSize.
    /// probs: [batch, heads, seqLen, seqLen] softmax output (saved for backward).
    /// dropMask: if given, [batch, heads, seqLen, seqLen] dropout scales applied to probs
    /// (already drawn). keyPadding: [batch·seqLen], true = the key is padding (ignored).
    /// context: [batch·seqLen, inner]. scratch: `scratchCount(seqLen:)` floats.
    public func forward(
        qkv: UnsafePointer<Float>, probs: UnsafeMutablePointer<Float>,
        dropMask: UnsafePointer<Float>?, keyPadding: UnsafePointer<Bool>?,
        context: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
        batch: Int, seqLen: Int
    ) {
        chain_attention_forward(
            qkv, probs, dropMask, keyPadding, context, Int64(batch), Int64(seqLen),
            Int64(heads), Int64(headSize), scratch)
    }

    /// Given dContext, writes dQKV (overwritten). scratch: `scratchCount(seqLen:)` floats.
    public func backward(
        qkv: UnsafePointer<Float>, probs: UnsafePointer<Float>,
        dropMask: UnsafePointer<Float>?, dContext: UnsafePointer<Float>,
        dQKV: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
        batch: Int, seqLen: Int
    ) {
        chain_attention_backward(
            qkv, probs, dropMask, dContext, dQKV, Int64(batch), Int64(seqLen),
            Int64(heads), Int64(headSize), scratch)
    }
}
