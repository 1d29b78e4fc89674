import ChainNumerics

/// The PCA-sign hashing baseline: a video is its features averaged over time; PCA is fitted
/// on the training videos (centred on their mean); a code is the sign of the projection on
/// the top `bits` principal components (bit = projection > 0). Component signs are
/// arbitrary, but flipping one flips that bit for every video, so Hamming rankings do not
/// depend on them.
public struct PCASignBaseline: Sendable {
    public let bits: Int
    public let featureSize: Int
    let mean: [Double]
    /// bits × F, row-major: the top principal directions.
    let components: [Double]

    /// Fits on `videos` videos of `frames` frames: features [videos·frames, F].
    public init(fit features: UnsafePointer<Float>, videos: Int, frames: Int, featureSize f: Int, bits: Int) {
        precondition(bits <= f, "PCA: \(bits) bits from \(f) features")
        let pooled = Self.pool(features, videos: videos, frames: frames, featureSize: f)
        var mean = [Double](repeating: 0, count: f)
        for v in 0..<videos { for k in 0..<f { mean[k] += pooled[v * f + k] } }
        mean = mean.map { $0 / Double(videos) }
        var centred = pooled
        for v in 0..<videos { for k in 0..<f { centred[v * f + k] -= mean[k] } }
        var covariance = [Double](repeating: 0, count: f * f)
        for v in 0..<videos {
            let row = centred[(v * f)..<((v + 1) * f)]
            for i in 0..<f {
                let xi = row[row.startIndex + i]
                if xi == 0 { continue }
                for j in i..<f { covariance[i * f + j] += xi * row[row.startIndex + j] }
            }
        }
        for i in 0..<f { for j in i..<f { covariance[j * f + i] = covariance[i * f + j] } }
        let (_, vectors) = SymmetricEigen.decompose(covariance, n: f)
        self.bits = bits
        featureSize = f
        self.mean = mean
        components = Array(vectors[0..<(bits * f)])
    }

    /// Codes of `videos` videos: packed, bit = projection > 0.
    public func encode(_ features: UnsafePointer<Float>, videos: Int, frames: Int) -> PackedCodes {
        let f = featureSize
        let pooled = Self.pool(features, videos: videos, frames: frames, featureSize: f)
        var projections = [Float](repeating: 0, count: videos * bits)
        for v in 0..<videos {
            for b in 0..<bits {
                var s = 0.0
                for k in 0..<f { s += (pooled[v * f + k] - mean[k]) * components[b * f + k] }
                projections[v * bits + b] = Float(s)
            }
        }
        return projections.withUnsafeBufferPointer { PackedCodes(values: $0.baseAddress!, count: videos, bits: bits) }
    }

    static func pool(_ x: UnsafePointer<Float>, videos: Int, frames: Int, featureSize f: Int) -> [Double] {
        var out = [Double](repeating: 0, count: videos * f)
        for v in 0..<videos {
            for t in 0..<frames { for k in 0..<f { out[v * f + k] += Double(x[(v * frames + t) * f + k]) } }
            for k in 0..<f { out[v * f + k] /= Double(frames) }
        }
        return out
    }
}
