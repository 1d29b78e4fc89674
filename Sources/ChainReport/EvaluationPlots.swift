import ChainEvaluation
import Foundation

/// The plots of one evaluation, for a run folder (plots/) and for `chain-eval --plots`:
/// mAP@K and precision@K over K (the baseline beside when given), the PR curve over Hamming
/// radii, the Hamming-distance histograms of relevant and irrelevant pairs, and the code map
/// when one is given.
public struct EvaluationPlots {
    public let result: RetrievalEvaluation.Result
    public let bits: Int
    public let baseline: RetrievalEvaluation.Result?
    /// The evaluated codes' name in legends ("CHAIN, 64 bits").
    public let name: String

    public init(
        result: RetrievalEvaluation.Result, bits: Int, baseline: RetrievalEvaluation.Result? = nil, name: String
    ) {
        self.result = result; self.bits = bits; self.baseline = baseline; self.name = name
    }

    /// Writes the SVGs into `directory` (created if needed); returns their file names.
    public func write(to directory: String, codeMap: SVGChart? = nil) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func path(_ file: String) -> String { (directory as NSString).appendingPathComponent(file) }
        var written: [String] = []
        let r = result
        for (file, metric, values) in [
            ("map_at_k.svg", "mAP@K", { (e: RetrievalEvaluation.Result) in e.mapAtK }),
            ("precision_at_k.svg", "precision@K", { (e: RetrievalEvaluation.Result) in e.precisionAtK }),
        ] {
            func curve(_ name: String, _ e: RetrievalEvaluation.Result) -> SVGChart.Series {
                SVGChart.Series(
                    name: name, points: values(e).sorted { $0.key < $1.key }.map { (Double($0.key), $0.value) })
            }
            var series = [curve(name, r)]
            if let baseline { series.append(curve("PCA-sign", baseline)) }
            try SVGChart(title: "\(metric) over K", xLabel: "K", yLabel: metric, series: series, yRange: 0...1)
                .write(to: path(file))
            written.append(file)
        }
        if let codeMap {
            try codeMap.write(to: path("code_map.svg"))
            written.append("code_map.svg")
        }
        let pr = SVGChart.Series(name: "\(bits) bits", points: r.prCurve.map { ($0.recall, $0.precision) })
        try SVGChart(
            title: "Precision–recall over Hamming radius", xLabel: "recall", yLabel: "precision", series: [pr],
            yRange: 0...1
        ).write(to: path("pr_curve.svg"))
        written.append("pr_curve.svg")
        guard !r.pairsAtDistance.isEmpty else { return written }
        // Each normalised to its own total.
        let relevantTotal = max(r.relevantPairsAtDistance.reduce(0, +), 1)
        let irrelevant = zip(r.pairsAtDistance, r.relevantPairsAtDistance).map { $0 - $1 }
        let irrelevantTotal = max(irrelevant.reduce(0, +), 1)
        let histogram = [
            SVGChart.Series(
                name: "relevant",
                points: r.relevantPairsAtDistance.enumerated().map { (Double($0), $1 / relevantTotal) }),
            SVGChart.Series(
                name: "irrelevant", points: irrelevant.enumerated().map { (Double($0), $1 / irrelevantTotal) }),
        ]
        try SVGChart(
            title: "Hamming distance of query–database pairs", xLabel: "Hamming distance", yLabel: "fraction of pairs",
            series: histogram
        ).write(to: path("hamming_histogram.svg"))
        written.append("hamming_histogram.svg")
        return written
    }
}
