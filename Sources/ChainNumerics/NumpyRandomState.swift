import Foundation

/// numpy's legacy `RandomState` stream, bit for bit: MT19937 seeded with `init_genrand`,
/// doubles from two 32-bit words (53 bits), and `standard_normal` by the polar Box–Muller
/// method with its cached second deviate.
///
/// The engine's own randomness comes from `Philox`. This type exists only to reproduce
/// scikit-learn exactly where it draws random numbers: affinity propagation's tie-breaking
/// noise with `random_state=seed`.
public struct NumpyRandomState: Sendable {
    private var key = [UInt32](repeating: 0, count: 624)
    private var position = 624
    private var cachedGaussian: Double?

    /// `numpy.random.RandomState(seed)` for an integer seed in 0..<2³².
    public init(seed: UInt32) {
        var s = seed
        for i in 0..<624 {
            key[i] = s
            s = 1_812_433_253 &* (s ^ (s >> 30)) &+ UInt32(i + 1)
        }
        position = 624
    }

    /// The next 32-bit output of MT19937.
    public mutating func next32() -> UInt32 {
        if position == 624 { regenerate() }
        var y = key[position]
        position += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    private mutating func regenerate() {
        for i in 0..<624 {
            let y = (key[i] & 0x8000_0000) | (key[(i + 1) % 624] & 0x7fff_ffff)
            key[i] = key[(i + 397) % 624] ^ (y >> 1) ^ (y & 1 == 0 ? 0 : 0x9908_b0df)
        }
        position = 0
    }

    /// `random_sample()`: uniform in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double {
        let a = Double(next32() >> 5), b = Double(next32() >> 6)
        return (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `standard_normal()`.
    public mutating func nextGaussian() -> Double {
        if let g = cachedGaussian { cachedGaussian = nil; return g }
        var x1 = 0.0, x2 = 0.0, r2 = 0.0
        repeat {
            x1 = 2 * nextDouble() - 1
            x2 = 2 * nextDouble() - 1
            r2 = x1 * x1 + x2 * x2
        } while r2 >= 1 || r2 == 0
        let f = (-2 * Foundation.log(r2) / r2).squareRoot()
        cachedGaussian = f * x1
        return f * x2
    }
}
