/// Random numbers for a batch of sequences, addressed by (draw, sequence, element) instead of
/// by the order in which they are consumed.
///
/// A pass over a batch makes a fixed series of draws (one dropout mask after another), each
/// a [sequences × valuesPerSequence] block. Draw k of sequence s starts at word
/// `cursor_k + s · valuesPerSequence` of one Philox stream, where cursor_k is the total size of
/// the draws before k. A sub-batch (sequences first..<first+count of the whole) therefore
/// draws exactly the numbers the whole batch would draw for those sequences, so splitting a
/// batch over threads changes no result.
public struct SequenceRandom: Sendable {
    public let seed: UInt64
    public let stream: UInt64
    /// Sequences in the whole batch.
    public let totalSequences: Int
    /// The first sequence of this slice, and how many it has.
    public let firstSequence: Int
    public let sequences: Int
    /// Words used by the draws so far (over the whole batch).
    public private(set) var cursor: UInt64 = 0

    /// A new address space for `sequences` sequences, keyed by two words drawn from `rng`
    /// (so successive passes that share a generator get different numbers).
    public init(_ rng: inout Philox, sequences: Int) {
        self.init(
            seed: rng.next(), stream: rng.next(), totalSequences: sequences, firstSequence: 0, sequences: sequences)
    }

    /// The address space keyed by (seed, stream) for a batch of `sequences`.
    public init(seed: UInt64, stream: UInt64, sequences: Int) {
        self.init(seed: seed, stream: stream, totalSequences: sequences, firstSequence: 0, sequences: sequences)
    }

    init(seed: UInt64, stream: UInt64, totalSequences: Int, firstSequence: Int, sequences: Int) {
        self.seed = seed
        self.stream = stream
        self.totalSequences = totalSequences
        self.firstSequence = firstSequence
        self.sequences = sequences
    }

    /// The sequences first..<first+count of this slice, at the same cursor.
    public func slice(first: Int, count: Int) -> SequenceRandom {
        precondition(
            first >= 0 && count >= 0 && first + count <= sequences,
            "slice \(first)..<\(first + count) of \(sequences) sequences")
        var s = SequenceRandom(
            seed: seed, stream: stream, totalSequences: totalSequences,
            firstSequence: firstSequence + first, sequences: count)
        s.cursor = cursor
        return s
    }

    /// A generator positioned at this slice's first value of the next draw, which holds
    /// `valuesPerSequence` values (one word each) per sequence; the cursor moves past the
    /// whole batch's draw.
    public mutating func nextDraw(valuesPerSequence: Int) -> Philox {
        let start = cursor + UInt64(firstSequence * valuesPerSequence)
        cursor += UInt64(totalSequences * valuesPerSequence)
        return Philox(state: .init(seed: seed, stream: stream, position: start))
    }
}
