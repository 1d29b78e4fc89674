import Foundation

/// The files of one extraction named NAME in folder OUT, and its work folder.
///
/// Final files: `NAME_feats.h5` (dataset `feats`, N × T × F), with copies `NAME_feats_aug.h5`
/// (`feats`, N × A × T × F), `NAME_videos.csv`, with class folders `NAME_labels.mat`
/// (`labels`, N × C multi-hot, MAT v5) and `NAME_classes.txt`, and `NAME.yaml` for
/// `chain-train --dataset`. Work folder: `.NAME.work/` with `manifest.json` and one part file
/// per finished row; removed once the final files are in place.
public struct ExtractionOutput: Sendable {
    public let folder: String
    public let name: String

    public init(folder: String, name: String) throws {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else {
            throw ExtractionError("--name \(name): must be a plain file-name prefix (no '/', not starting with '.')")
        }
        self.folder = URL(fileURLWithPath: folder).standardizedFileURL.path
        self.name = name
    }

    func file(_ suffix: String) -> String { (folder as NSString).appendingPathComponent(name + suffix) }

    public var features: String { file("_feats.h5") }
    public var augmented: String { file("_feats_aug.h5") }
    public var videos: String { file("_videos.csv") }
    public var labels: String { file("_labels.mat") }
    public var classes: String { file("_classes.txt") }
    public var datasetYAML: String { file(".yaml") }
    public var finalFiles: [String] { [features, augmented, videos, labels, classes, datasetYAML] }

    public var workFolder: String { (folder as NSString).appendingPathComponent(".\(name).work") }
    public var manifest: String { (workFolder as NSString).appendingPathComponent("manifest.json") }
    public var partsFolder: String { (workFolder as NSString).appendingPathComponent("rows") }
    public func part(row: Int) -> String {
        (partsFolder as NSString).appendingPathComponent(String(format: "%08d.part", row))
    }

    /// Where a final file is assembled before the rename that publishes it.
    public func assembling(_ final: String) -> String {
        let url = URL(fileURLWithPath: final)
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).assembling").path
    }
}
