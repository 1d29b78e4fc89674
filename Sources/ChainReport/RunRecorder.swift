import ChainEvaluation
import Foundation

/// The artefacts of a run folder (rank 0 only):
///
///     runs/<name>/config.yaml        the resolved run config (written by chain-train)
///     runs/<name>/metrics.jsonl      one JSON object per step, epoch and evaluation
///     runs/<name>/eval/*.json        each evaluation, with its PR curve and distance histograms
///     runs/<name>/plots/*.svg        losses per step, mAP@K per epoch, PR curve, Hamming histograms
///     runs/<name>/report.md          the final table and links to all of the above
///     runs/<name>/events.out.tfevents.*  the same scalars for TensorBoard (`TensorBoardWriter`)
///
/// metrics.jsonl is appended to, so a resumed run continues the same file; the plots and the
/// report are rebuilt from it at the end.
public final class RunRecorder {
    public let directory: String
    private var handle: FileHandle?
    /// The run's TensorBoard event file (a new one per start, as TensorBoard expects).
    public let tensorBoard: TensorBoardWriter?

    /// Opens the run folder; `tensorBoard: false` (redrawing an existing run) adds no event file.
    public init(directory: String, tensorBoard: Bool = true) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.tensorBoard = tensorBoard ? try TensorBoardWriter(directory: directory) : nil
        let fm = FileManager.default
        for sub in ["", "eval", "plots"] {
            try fm.createDirectory(
                atPath: (directory as NSString).appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let metrics = path("metrics.jsonl")
        if !fm.fileExists(atPath: metrics) { fm.createFile(atPath: metrics, contents: nil) }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: metrics))
        try handle?.seekToEnd()
    }

    deinit { try? handle?.close() }

    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// Appends one record as a line of metrics.jsonl.
    public func log(_ record: MetricsRecord) {
        guard let data = try? record.line() else { return }
        handle?.write(data + Data("\n".utf8))
        let (step, values) = record.scalars
        try? tensorBoard?.scalars(values, step: step)
    }

    /// Writes eval/<name>.json and, with `logged` (class-level evaluations, plotted by epoch),
    /// a metrics.jsonl record.
    /// `loggedCutoffs` limits the record to the table's K (the final evaluation holds the curves' too).
    public func evaluation(
        _ r: RetrievalEvaluation.Result, bits: Int, epoch: Int, step: Int, name: String,
        logged: Bool = true, loggedCutoffs: [Int]? = nil
    ) throws {
        var record = EvaluationRecord(r, bits: bits)
        record.epoch = epoch
        record.step = step
        try record.write(to: path("eval/\(name).json"))
        let map = loggedCutoffs.map { ks in r.mapAtK.filter { ks.contains($0.key) } } ?? r.mapAtK
        if logged { log(.evaluation(epoch: epoch, step: step, mapAtK: map, mapAll: r.mapAll)) }
    }

    /// All records of metrics.jsonl (this run and any it resumed).
    func records() -> [[String: Any]] { Self.records(of: path("metrics.jsonl")) }

    /// The records of a metrics.jsonl file (none if it cannot be read).
    static func records(of file: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Plots and report.md from metrics.jsonl and the final evaluation. Returns the files written.
    @discardableResult
    public func finish(
        final r: RetrievalEvaluation.Result, baseline: RetrievalEvaluation.Result? = nil, topK: [Int]? = nil,
        codeMap: SVGChart? = nil, bits: Int, title: String, summary: [String], config: String
    ) throws -> [String] {
        let all = records()
        func number(_ v: Any?) -> Double? { (v as? NSNumber)?.doubleValue }
        var written: [String] = []
        // Losses per step.
        let steps = all.filter { $0["kind"] as? String == "step" }
        let terms = ["total", "contrastive", "order", "scene", "reconstruction"]
        let lossSeries = terms.compactMap { term -> SVGChart.Series? in
            let points = steps.compactMap { s -> (x: Double, y: Double)? in
                guard let x = number(s["step"]), let y = number(s[term]) else { return nil }
                return (x, y)
            }
            return points.contains { $0.y != 0 } ? SVGChart.Series(name: term, points: points) : nil
        }
        try SVGChart(title: "Training losses", xLabel: "optimizer step", yLabel: "loss", series: lossSeries).write(
            to: path("plots/losses.svg"))
        written.append("plots/losses.svg")
        // mAP@K per epoch (evaluations during training and the final one).
        let evals = all.filter { $0["kind"] as? String == "eval" }
        let ks = topK ?? r.mapAtK.keys.sorted()
        let mapSeries = ks.map { k in
            SVGChart.Series(
                name: "mAP@\(k)",
                points: evals.compactMap { e in
                    guard let x = number(e["epoch"]), let y = number(e["map@\(k)"]) else { return nil }
                    return (x, y)
                })
        }
        try SVGChart(title: "mAP@K by epoch", xLabel: "epoch", yLabel: "mAP@K", series: mapSeries, yRange: 0...1).write(
            to: path("plots/map.svg"))
        written.append("plots/map.svg")
        // The evaluation's own plots: curves over K, code map, PR curve, histograms.
        written += try EvaluationPlots(result: r, bits: bits, baseline: baseline, name: "\(bits)-bit codes")
            .write(to: path("plots"), codeMap: codeMap).map { "plots/" + $0 }
        // A map drawn now, or kept from the run (chain-report cannot redraw it without the codes).
        let mapped = FileManager.default.fileExists(atPath: path("plots/code_map.svg"))
        // The report.
        var md = "# \(title)\n\n"
        md += summary.map { "- \($0)" }.joined(separator: "\n") + "\n\n"
        md += "## Retrieval (final)\n\n| bits | " + ks.map { "mAP@\($0)" }.joined(separator: " | ") + " | mAP |\n"
        md += "|---|" + ks.map { _ in "---|" }.joined() + "---|\n"
        md +=
            "| \(bits) | " + ks.map { String(format: "%.4f", r.mapAtK[$0]!) }.joined(separator: " | ")
            + String(format: " | %.4f |\n\n", r.mapAll)
        md +=
            "| K | " + ks.map { "\($0)" }.joined(separator: " | ") + " |\n|---|" + ks.map { _ in "---|" }.joined()
            + "\n"
        md +=
            "| precision@K | " + ks.map { String(format: "%.4f", r.precisionAtK[$0]!) }.joined(separator: " | ")
            + " |\n"
        md += "| recall@K | " + ks.map { String(format: "%.4f", r.recallAtK[$0]!) }.joined(separator: " | ") + " |\n\n"
        md += "## Plots\n\n"
        md += "![losses](plots/losses.svg)\n\n![mAP by epoch](plots/map.svg)\n\n"
        md += "![mAP@K over K](plots/map_at_k.svg)\n\n![precision@K over K](plots/precision_at_k.svg)\n\n"
        md += "![PR curve](plots/pr_curve.svg)\n\n"
        if mapped { md += "![query codes by class](plots/code_map.svg)\n\n" }
        md += "![Hamming histograms](plots/hamming_histogram.svg)\n\n"
        md +=
            "## Files\n\n- [config.yaml](config.yaml): the resolved run config\n- [metrics.jsonl](metrics.jsonl): "
            + "one line per step, epoch and evaluation\n"
        md +=
            "- [eval/](eval/): each evaluation with its PR curve and distance histograms\n- "
            + "[checkpoints/](checkpoints/)\n\n"
        md += "## Config\n\n```yaml\n\(config)```\n"
        try Data(md.utf8).write(to: URL(fileURLWithPath: path("report.md")), options: .atomic)
        written.append("report.md")
        if let tensorBoard { written.append((tensorBoard.path as NSString).lastPathComponent) }
        return written
    }
}
