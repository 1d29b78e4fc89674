import ChainEvaluation
import Foundation

/// Several finished runs side by side (`chain-report RUN_DIR RUN_DIR …`), e.g. an ablation or
/// CHAIN against ConMH mode: one table of the final retrieval, and overlaid curves of mAP@K
/// and precision@K over K, the total loss by step and mAP@K by epoch, in `directory`.
public struct RunComparison {
    public let runs: [RunFolder]

    public init(runs: [RunFolder]) { self.runs = runs }

    /// Writes report.md and plots/*.svg into `directory`; returns the files written.
    @discardableResult
    public func write(to directory: String) throws -> [String] {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory + "/plots", withIntermediateDirectories: true)
        let ks = runs[0].topK
        var written: [String] = []
        func chart(
            _ file: String, _ title: String, _ x: String, _ y: String, _ series: [SVGChart.Series],
            unit: Bool = false
        ) throws {
            try SVGChart(title: title, xLabel: x, yLabel: y, series: series, yRange: unit ? 0...1 : nil)
                .write(to: directory + "/" + file)
            written.append(file)
        }
        func curve(_ values: (RetrievalEvaluation.Result) -> [Int: Double]) -> [SVGChart.Series] {
            runs.map { run in
                SVGChart.Series(
                    name: run.name,
                    points: values(run.final).sorted { $0.key < $1.key }.map { (Double($0.key), $0.value) })
            }
        }
        try chart("plots/map_at_k.svg", "mAP@K over K (final)", "K", "mAP@K", curve(\.mapAtK), unit: true)
        try chart(
            "plots/precision_at_k.svg", "precision@K over K (final)", "K", "precision@K", curve(\.precisionAtK),
            unit: true)
        try chart(
            "plots/losses.svg", "Total training loss", "optimizer step", "loss",
            runs.map { SVGChart.Series(name: $0.name, points: $0.series(kind: "step", x: "step", y: "total")) })
        let first = ks.first ?? 5
        try chart(
            "plots/map.svg", "mAP@\(first) by epoch", "epoch", "mAP@\(first)",
            runs.map { SVGChart.Series(name: $0.name, points: $0.series(kind: "eval", x: "epoch", y: "map@\(first)")) },
            unit: true)
        var md = "# Comparison of \(runs.count) runs\n\n"
        md += "| run | mode | bits | " + ks.map { "mAP@\($0)" }.joined(separator: " | ") + " | mAP |\n"
        md += "|---|---|---|" + ks.map { _ in "---|" }.joined() + "---|\n"
        for run in runs {
            let cells = ks.map { k in run.final.mapAtK[k].map { String(format: "%.4f", $0) } ?? "–" }
            md +=
                "| [\(run.name)](\(run.directory)/report.md) | \(run.setting("model", "mode") ?? "?") | \(run.bits) | "
                + cells.joined(separator: " | ") + String(format: " | %.4f |\n", run.final.mapAll)
        }
        md += "\n"
        for file in written { md += "![\(file)](\(file))\n\n" }
        md += "Runs: " + runs.map(\.directory).joined(separator: ", ") + "\n"
        try Data(md.utf8).write(to: URL(fileURLWithPath: directory + "/report.md"), options: .atomic)
        written.append("report.md")
        return written
    }
}
