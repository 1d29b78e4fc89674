import Foundation

/// A small SVG line/step chart, written by the project itself (no plotting library or Python
/// at run time): axes with ticks, one polyline per series, a legend. Enough for loss curves,
/// mAP per epoch, PR curves and distance histograms.
public struct SVGChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) { self.name = name; self.points = points }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var width = 640.0, height = 400.0
    /// Fixed y range (else from the data).
    public var yRange: ClosedRange<Double>?
    /// Points only (a scatter, e.g. the code map), no lines; the legend lists at most 12 series.
    public var scatter = false

    public init(title: String, xLabel: String, yLabel: String, series: [Series], yRange: ClosedRange<Double>? = nil) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series; self.yRange = yRange
    }

    static let colours = [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
    ]

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;")
    }

    /// "Nice" tick values covering [low, high].
    static func ticks(_ low: Double, _ high: Double, count: Int = 5) -> [Double] {
        guard high > low else { return [low] }
        let raw = (high - low) / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var t = ceil(low / step) * step, out: [Double] = []
        while t <= high + step * 1e-9 { out.append(t); t += step }
        return out
    }

    static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        if v == v.rounded() && abs(v) < 1e6 { return String(Int(v)) }  // 1000, not 1e+03
        if abs(v) >= 1000 || abs(v) < 0.01 { return String(format: "%.2g", v) }
        return String(format: "%g", (v * 1000).rounded() / 1000)
    }

    /// The SVG document.
    public func render() -> String {
        let left = 64.0, right = 150.0, top = 36.0, bottom = 48.0
        let plotW = width - left - right, plotH = height - top - bottom
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        var xMin = all.map(\.x).min() ?? 0, xMax = all.map(\.x).max() ?? 1
        var yMin = yRange?.lowerBound ?? (all.map(\.y).min() ?? 0),
            yMax = yRange?.upperBound ?? (all.map(\.y).max() ?? 1)
        // One x (or one y) value: centre it in a range around it instead of drawing it on an
        // edge of an axis one unit wide.
        if xMax <= xMin { let half = max(abs(xMin) * 0.1, 1); xMin -= half; xMax += half }
        if yMax <= yMin { let half = max(abs(yMin) * 0.1, 0.05); yMin -= half; yMax += half }
        if yRange == nil { let pad = (yMax - yMin) * 0.05; yMin -= pad; yMax += pad }
        if scatter {
            let pad = (xMax - xMin) * 0.05; xMin -= pad; xMax += pad
        } else if xMin > 0 && xMin < (xMax - xMin) * 0.2 {
            xMin = 0
        }
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotW }
        func py(_ y: Double) -> Double { top + plotH - (y - yMin) / (yMax - yMin) * plotH }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \
            \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left + plotW / 2)" y="20" text-anchor="middle" font-size="14">\(Self.escape(title))</text>

            """
        for t in Self.ticks(yMin, yMax) {
            svg += "<line x1=\"\(left)\" x2=\"\(left + plotW)\" y1=\"\(py(t))\" y2=\"\(py(t))\" stroke=\"#e5e5e5\"/>\n"
            svg += "<text x=\"\(left - 6)\" y=\"\(py(t) + 4)\" text-anchor=\"end\">\(Self.format(t))</text>\n"
        }
        for t in Self.ticks(xMin, xMax) {
            svg +=
                "<line x1=\"\(px(t))\" x2=\"\(px(t))\" y1=\"\(top + plotH)\" y2=\"\(top + plotH + 4)\" "
                + "stroke=\"black\"/>\n"
            svg += "<text x=\"\(px(t))\" y=\"\(top + plotH + 18)\" text-anchor=\"middle\">\(Self.format(t))</text>\n"
        }
        svg +=
            "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"black\"/>\n"
        svg +=
            "<text x=\"\(left + plotW / 2)\" y=\"\(height - 10)\" "
            + "text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        svg +=
            "<text x=\"16\" y=\"\(top + plotH / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
            + "\(top + plotH / 2))\">\(Self.escape(yLabel))</text>\n"
        for (i, s) in series.enumerated() {
            let colour = Self.colours[i % Self.colours.count]
            let points = s.points.filter { $0.x.isFinite && $0.y.isFinite }
                .map { String(format: "%.2f,%.2f", px($0.x), py(min(max($0.y, yMin), yMax))) }.joined(separator: " ")
            if !points.isEmpty && !scatter {
                svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.8\" points=\"\(points)\"/>\n"
            }
            if !points.isEmpty {
                if s.points.count <= 40 || scatter {
                    for p in s.points where p.x.isFinite && p.y.isFinite {
                        svg +=
                            String(
                                format: "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\" ", px(p.x),
                                py(min(max(p.y, yMin), yMax)))
                            + "fill=\"\(colour)\"/>\n"
                    }
                }
            }
            if i >= 12 {
                if i == 12 {
                    svg +=
                        "<text x=\"\(left + plotW + 12)\" y=\"\(top + 14 + 12 * 18)\">… \(series.count) in all</text>\n"
                }
                continue
            }
            let ly = top + 14 + Double(i) * 18
            svg +=
                "<line x1=\"\(left + plotW + 12)\" x2=\"\(left + plotW + 32)\" y1=\"\(ly - 4)\" y2=\"\(ly - 4)\" "
                + "stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            svg += "<text x=\"\(left + plotW + 38)\" y=\"\(ly)\">\(Self.escape(s.name))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    /// Writes the SVG atomically.
    public func write(to path: String) throws {
        try Data(render().utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
