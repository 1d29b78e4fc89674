import ArgumentParser
import ChainEvaluation
import ChainNumerics
import ChainReport
import Foundation

/// The code map at the end of a run: exact t-SNE of `--points` random 64-bit codes in
/// `--classes` clusters (the most a run maps is 2,000), median of --runs.
struct CodeMapBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "code-map", abstract: "Time the t-SNE map of query codes (plots/code_map.svg).")
    @Option(help: "Codes mapped.") var points = 2_000
    @Option(help: "Clusters of codes.") var classes = 10
    @Option(help: "Bits per code.") var bits = 64
    @Option(help: "Timed runs.") var runs = 3

    func run() throws {
        var g = Philox(seed: 9)
        let bytesPerCode = (bits + 7) / 8
        let centres = (0..<(classes * bytesPerCode)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        var bytes: [UInt8] = [], labels: [Int] = []
        for i in 0..<points {
            let c = i % classes
            var code = Array(centres[(c * bytesPerCode)..<((c + 1) * bytesPerCode)])
            for _ in 0..<(bits / 8) { let b = Int(g.next() % UInt64(bits)); code[b / 8] ^= UInt8(1 << (b % 8)) }
            bytes += code
            labels.append(c)
        }
        let codes = PackedCodes(count: points, bits: bits, bytes: bytes)
        var seconds: [Double] = []
        for _ in 0..<runs {
            let start = ContinuousClock.now
            let chart = CodeMap.chart(codes, classes: labels, seed: 1)
            seconds.append((ContinuousClock.now - start).seconds)
            precondition(chart.series.count == classes)
        }
        let median = seconds.sorted()[seconds.count / 2]
        print(
            String(
                format: "code map: %d codes (%d bits, %d classes), t-SNE 1000 iterations: median %.2f s of %d runs",
                points, bits, classes, median, runs))
    }
}
