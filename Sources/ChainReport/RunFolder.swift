import ChainEvaluation
import Foundation

/// A finished run folder read back from its files, for `chain-report`: its metrics.jsonl,
/// final evaluation (eval/final.json), the PCA-sign baseline's (eval/pca-sign.json, when the
/// run computed it), config.yaml and the summary lines of its report.md.
public struct RunFolder {
    public let directory: String
    public let name: String
    public let config: String
    public let final: RetrievalEvaluation.Result
    public let baseline: RetrievalEvaluation.Result?
    public let bits: Int
    /// The table's cutoffs: those of the run's logged evaluations.
    public let topK: [Int]
    let records: [[String: Any]]
    let summary: [String]

    /// Reads `directory`; errors name the missing or unreadable file.
    public init(directory: String) throws {
        self.directory = directory
        name = (directory as NSString).lastPathComponent
        func file(_ relative: String) -> String { (directory as NSString).appendingPathComponent(relative) }
        func text(_ relative: String) throws -> String {
            guard let data = FileManager.default.contents(atPath: file(relative)),
                let text = String(data: data, encoding: .utf8)
            else {
                throw ReportError("\(file(relative)): missing or not text (is \(directory) a finished run folder?)")
            }
            return text
        }
        config = try text("config.yaml")
        let record: EvaluationRecord
        do { record = try EvaluationRecord.read(path: file("eval/final.json")) } catch {
            throw ReportError("\(file("eval/final.json")): \(error) (the run has not finished)")
        }
        final = record.result
        bits = record.bits
        baseline = (try? EvaluationRecord.read(path: file("eval/pca-sign.json")))?.result
        guard FileManager.default.fileExists(atPath: file("metrics.jsonl")) else {
            throw ReportError("\(file("metrics.jsonl")): missing (is \(directory) a finished run folder?)")
        }
        records = RunRecorder.records(of: file("metrics.jsonl"))
        let logged = records.last { $0["kind"] as? String == "eval" }?.keys.compactMap { key -> Int? in
            key.hasPrefix("map@") ? Int(key.dropFirst(4)) : nil
        }
        topK = (logged?.isEmpty == false ? logged! : Array(final.mapAtK.keys)).sorted()
        let report = (try? text("report.md")) ?? ""
        summary = report.split(separator: "\n").prefix { !$0.hasPrefix("## ") }.filter { $0.hasPrefix("- ") }
            .map { String($0.dropFirst(2)) }
    }

    /// A top-level key of config.yaml's `section:` ("model", "mode" → "chain").
    public func setting(_ section: String, _ key: String) -> String? {
        var inSection = false
        for line in config.split(separator: "\n") {
            if !line.hasPrefix(" ") { inSection = line == "\(section):"; continue }
            if inSection, line.hasPrefix("  \(key): ") { return String(line.dropFirst(key.count + 4)) }
        }
        return nil
    }

    /// Redraws the run's plots and report.md from its files (the code map, which needs the
    /// codes, is kept as it is). Returns the files written.
    @discardableResult
    public func redraw() throws -> [String] {
        let recorder = try RunRecorder(directory: directory, tensorBoard: false)
        return try recorder.finish(
            final: final, baseline: baseline, topK: topK, codeMap: nil, bits: bits, title: "CHAIN run \(name)",
            summary: summary, config: config)
    }

    /// (x, y) of a numeric field of metrics.jsonl's records of one kind.
    func series(kind: String, x: String, y: String) -> [(x: Double, y: Double)] {
        records.filter { $0[x] != nil && $0["kind"] as? String == kind }.compactMap { r in
            guard let a = (r[x] as? NSNumber)?.doubleValue, let b = (r[y] as? NSNumber)?.doubleValue else { return nil }
            return (a, b)
        }
    }
}

/// A run folder that cannot be read or compared, naming the file.
public struct ReportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
