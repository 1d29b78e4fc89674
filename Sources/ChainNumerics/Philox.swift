import Foundation

/// A deterministic, splittable, counter-based random generator (Philox-4x32-10).
///
/// The whole state is three integers (`RandomState`): the key (`seed`), the stream and
/// the number of 32-bit words drawn so far. Restoring a saved state continues the exact
/// sequence, which is what exact resume after preemption needs. Independent generators
/// for (seed, rank, purpose) come from `split`, with no shared state, so the numbers a
/// rank draws never depend on what other ranks or other components drew.
public struct Philox: RandomNumberGenerator, Sendable {
    /// The complete, serialisable state of a generator.
    public struct RandomState: Equatable, Sendable, Codable {
        public var seed: UInt64
        public var stream: UInt64
        public var position: UInt64
        public init(seed: UInt64, stream: UInt64, position: UInt64) {
            self.seed = seed; self.stream = stream; self.position = position
        }
    }

    public private(set) var state: RandomState
    private var block: SIMD4<UInt32> = .zero
    private var blockIndex: UInt64 = .max

    /// A generator for `seed`, on sub-stream `stream` (2^64 streams of 2^66 words each).
    public init(seed: UInt64, stream: UInt64 = 0) {
        state = RandomState(seed: seed, stream: stream, position: 0)
    }

    /// A generator that continues exactly where `state` was saved.
    public init(state: RandomState) { self.state = state }

    /// An independent generator identified by `id` (e.g. a rank, or a purpose such as
    /// "dropout"). The child's key mixes this generator's key and stream, so children of
    /// different parents, or with different ids, do not overlap. It does not depend on how
    /// many numbers the parent has drawn: splitting the same parent twice with the same id
    /// gives the same child.
    public func split(_ id: UInt64) -> Philox {
        Philox(seed: Philox.mix(state.seed ^ Philox.mix(state.stream &+ 0x9E37_79B9_7F4A_7C15)), stream: id)
    }

    /// A child keyed by a string label (hash of its UTF-8 bytes, stable across runs).
    public func split(_ label: String) -> Philox {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in label.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return split(h)
    }

    /// The next 32 uniformly distributed bits.
    public mutating func next32() -> UInt32 {
        let index = state.position >> 2
        if index != blockIndex {
            block = Philox.block(counter: index, stream: state.stream, seed: state.seed)
            blockIndex = index
        }
        let word = block[Int(state.position & 3)]
        state.position &+= 1
        return word
    }

    public mutating func next() -> UInt64 {
        UInt64(next32()) << 32 | UInt64(next32())
    }

    /// Moves past the next `count` words without drawing them (kernels that read the stream
    /// by position, such as dropout masks, use this to consume what they read).
    public mutating func skip(_ count: Int) {
        precondition(count >= 0)
        state.position &+= UInt64(count)
    }

    /// Uniform in [0, 1), 24 random bits.
    public mutating func nextUniform() -> Float { Float(next32() >> 8) * 0x1p-24 }

    /// Uniform in [low, high).
    public mutating func nextUniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * nextUniform() }

    /// A standard normal deviate (Box–Muller; consumes two words).
    public mutating func nextGaussian() -> Float {
        let u1 = (Double(next32()) + 1) * 0x1p-32  // (0, 1]
        let u2 = Double(next32()) * 0x1p-32
        return Float((-2 * Foundation.log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// Uniform integer in 0..<bound (Lemire's method with rejection: exact, no modulo bias).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0 && bound <= Int(UInt32.max), "nextInt(below:) bound \(bound)")
        let b = UInt32(bound)
        var product = UInt64(next32()) * UInt64(b)
        var low = UInt32(truncatingIfNeeded: product)
        if low < b {
            let threshold = (0 &- b) % b
            while low < threshold {
                product = UInt64(next32()) * UInt64(b)
                low = UInt32(truncatingIfNeeded: product)
            }
        }
        return Int(product >> 32)
    }

    /// A uniformly random permutation of 0..<n (Fisher–Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 { for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, nextInt(below: i + 1)) } }
        return p
    }

    // MARK: The Philox-4x32-10 block function

    @inline(__always)
    public static func block(counter: UInt64, stream: UInt64, seed: UInt64) -> SIMD4<UInt32> {
        var c0 = UInt32(truncatingIfNeeded: counter), c1 = UInt32(truncatingIfNeeded: counter >> 32)
        var c2 = UInt32(truncatingIfNeeded: stream), c3 = UInt32(truncatingIfNeeded: stream >> 32)
        var k0 = UInt32(truncatingIfNeeded: seed), k1 = UInt32(truncatingIfNeeded: seed >> 32)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) * UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) * UInt64(c2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
            k0 &+= 0x9E37_79B9
            k1 &+= 0xBB67_AE85
        }
        return SIMD4(c0, c1, c2, c3)
    }

    /// SplitMix64's finaliser: a bijective 64-bit mixer.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
