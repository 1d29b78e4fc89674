import ChainDistributed
import ChainNumerics
import Foundation

/// Rank 0's progress over its own share of the rows (the ranks' shares are equal to within a
/// video): videos/s, CNN frames/s and the ETA. On a terminal one line is redrawn; otherwise
/// (logs, SLURM output) a plain line is printed every `interval` seconds and at the end.
public final class ExtractionProgress {
    private let terminal: Bool
    private let interval: Double
    private let write: (String) -> Void
    private let clock = ContinuousClock()
    private var start = ContinuousClock.now, lastPrint = ContinuousClock.now
    private var total = 0, done = 0, resumed = 0, frames = 0, unusable = 0
    private var scope = ""

    public init(
        terminal: Bool = TerminalOutput.isLive(STDERR_FILENO), interval: Double = 10,
        write: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
    ) {
        self.terminal = terminal
        self.interval = terminal ? 0.5 : interval
        self.write = write
    }

    func begin(total: Int, resumed: Int, rank: Int, ranks: Int) {
        self.total = total
        self.resumed = resumed
        done = resumed
        scope = ranks > 1 ? " (rank \(rank)'s share, 1/\(ranks) of the set)" : ""
        start = clock.now
        lastPrint = start
        if resumed > 0 { write("chain-extract: resuming: \(resumed) of \(total) videos\(scope) already extracted\n") }
    }

    func finished(frames: Int, usable: Bool) {
        done += 1
        self.frames += frames
        if !usable { unusable += 1 }
        if (clock.now - lastPrint).seconds >= interval { report(final: false) }
    }

    func end() { report(final: true) }

    private func report(final: Bool) {
        lastPrint = clock.now
        let elapsed = max((clock.now - start).seconds, 1e-9)
        let extracted = done - resumed
        let rate = Double(extracted) / elapsed
        let eta = rate > 0 ? Double(total - done) / rate : 0
        var line =
            "chain-extract: \(done)/\(total) videos\(scope), "
            + String(format: "%.2f videos/s, %.1f frames/s", rate, Double(frames) / elapsed)
        line += final ? String(format: ", %.0f s", elapsed) : ", ETA \(Self.clockText(eta))"
        if unusable > 0 { line += ", \(unusable) unusable" }
        write(terminal ? "\r\u{1B}[K" + line + (final ? "\n" : "") : line + "\n")
    }

    static func clockText(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
            : String(format: "%d:%02d", s / 60, s % 60)
    }
}
