import ArgumentParser
import ChainCLI
import ChainReport
import Foundation

/// `chain-report`: a run folder's plots and report.md redrawn from its files, or several runs
/// compared in one report.
@main
struct ChainReportCommand: ChainTool {
    static let configuration = CommandConfiguration(
        commandName: "chain-report",
        abstract: "Redraw a run's plots and report, or compare several runs in one report.",
        discussion: """
            With one run folder, redraws its plots/*.svg and report.md from metrics.jsonl, eval/ and config.yaml \
            (after an interrupted run, or a newer chain-report). With several, writes a comparison into --out: \
            one table of the final mAP@K and overlaid curves (mAP@K and precision@K over K, the loss by step, \
            mAP by epoch), e.g. for an ablation or CHAIN against ConMH mode.

            Examples:
              chain-report runs/mmnist
              chain-report runs/shots-default runs/shots-no-order runs/shots-conmh --out runs/shots-comparison
            """)

    @Argument(help: "Finished run folders (each with config.yaml, metrics.jsonl and eval/final.json).")
    var runs: [String]
    @Option(help: "Folder of a comparison's report.md and plots/ (default runs/comparison).") var out: String?

    func validate() throws {
        if runs.isEmpty { throw ValidationError("give at least one run folder") }
        if runs.count == 1 && out != nil { throw ValidationError("--out is for comparing several runs") }
    }

    func run() throws {
        do {
            let folders = try runs.map { try RunFolder(directory: $0) }
            if folders.count == 1 {
                let files = try folders[0].redraw()
                print("chain-report: redrew \(runs[0]): " + files.joined(separator: ", "))
            } else {
                let directory = out ?? "runs/comparison"
                let files = try RunComparison(runs: folders).write(to: directory)
                print("chain-report: compared \(folders.count) runs in \(directory): " + files.joined(separator: ", "))
            }
        } catch {
            throw toolFailure("chain-report", error)
        }
    }
}
