import ChainData
import Foundation

/// When NAME is STEM_train or STEM_test and both extractions are finished in the same folder,
/// `STEM.yaml` names them in the public UCF101 layout: STEM_train is the training set (with its
/// augmented copies, when it has them) and the database, STEM_test the queries.
public struct DatasetPairing {
    public let output: ExtractionOutput

    public init(output: ExtractionOutput) { self.output = output }

    public var stem: String? {
        for suffix in ["_train", "_test"] where output.name.hasSuffix(suffix) && output.name.count > suffix.count {
            return String(output.name.dropLast(suffix.count))
        }
        return nil
    }

    /// Writes STEM.yaml if both halves exist; returns its path, or nil.
    @discardableResult
    public func writeIfComplete() throws -> String? {
        guard let stem else { return nil }
        let train = try ExtractionOutput(folder: output.folder, name: stem + "_train")
        let test = try ExtractionOutput(folder: output.folder, name: stem + "_test")
        let files = FileManager.default
        guard files.fileExists(atPath: train.datasetYAML), files.fileExists(atPath: test.datasetYAML) else {
            return nil
        }
        let trainConfig = try DatasetConfig.load(path: train.datasetYAML)
        let testConfig = try DatasetConfig.load(path: test.datasetYAML)
        guard trainConfig.frames == testConfig.frames, trainConfig.featureSize == testConfig.featureSize else {
            throw ExtractionError(
                "\(train.datasetYAML) and \(test.datasetYAML) differ in frames or feature size: cannot pair them")
        }
        let trainClasses = try? String(contentsOfFile: train.classes, encoding: .utf8)
        let testClasses = try? String(contentsOfFile: test.classes, encoding: .utf8)
        guard trainClasses == testClasses else {
            throw ExtractionError(
                "\(train.classes) and \(test.classes) list different classes: label columns would not match; "
                    + "\(stem).yaml not written")
        }
        var config = DatasetConfig.publicLayout(
            name: stem, root: ".", frames: trainConfig.frames, featureSize: trainConfig.featureSize,
            classes: trainConfig.classes)
        if trainClasses == nil { config.database.labels = nil; config.query.labels = nil }
        config.train.augmented = trainConfig.train.augmented
        let path = (output.folder as NSString).appendingPathComponent(stem + ".yaml")
        let text =
            "# Written by chain-extract: \(stem)_train (train, database) and \(stem)_test (queries).\n"
            + (try config.yaml())
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
