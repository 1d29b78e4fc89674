import ChainDistributed
import ChainNumerics
import Foundation

/// Rank 0's progress display: a live bar on a terminal (epoch, step/total, loss, videos/s,
/// ETA), rewritten in place; when output is not a terminal a person watches (batch jobs,
/// pipes: `TerminalOutput`), nothing — the per-epoch lines are the log.
public final class ProgressBar {
    let total: Int, epochs: Int, stepsPerEpoch: Int, batch: Int
    let live: Bool
    let start = ContinuousClock.now
    let first: Int
    private var shown = false

    public init(total: Int, first: Int, epochs: Int, stepsPerEpoch: Int, batch: Int, enabled: Bool) {
        self.total = total; self.first = first; self.epochs = epochs; self.stepsPerEpoch = stepsPerEpoch;
        self.batch = batch
        live = enabled && TerminalOutput.isLive(STDOUT_FILENO)
    }

    public func step(_ done: Int, epoch: Int, loss: Double) {
        guard live else { return }
        let elapsed = (ContinuousClock.now - start).seconds, steps = max(done - first, 1)
        let perStep = elapsed / Double(steps), remaining = perStep * Double(total - done)
        let width = 24, filled = Int(Double(width) * Double(done) / Double(max(total, 1)))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let eta =
            remaining >= 3600
            ? String(format: "%dh%02dm", Int(remaining) / 3600, Int(remaining) % 3600 / 60)
            : String(format: "%dm%02ds", Int(remaining) / 60, Int(remaining) % 60)
        let line =
            "  \(bar) epoch \(epoch)/\(epochs)  step \(done)/\(total)  "
            + String(format: "loss %.4f  %.0f videos/s  ETA ", loss, Double(batch) / perStep) + eta
        FileHandle.standardOutput.write(Data(("\r" + line + "\u{1B}[K").utf8))
        shown = true
    }

    /// Removes the bar before a normal line is printed.
    public func clear() {
        guard live, shown else { return }
        FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8))
        shown = false
    }
}
