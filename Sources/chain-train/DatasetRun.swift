import ChainDistributed
import ChainEvaluation
import ChainModel
import ChainNumerics
import ChainTraining
import Foundation

/// Training on a dataset in the public UCF101/HMDB51 layout ({name}_train_feats.h5,
/// {name}_train_labels.mat, {name}_test_feats.h5, {name}_test_labels.mat), then retrieval
/// evaluation: test videos query the training videos — or, with a validation split, held-out
/// training videos query the rest (the test split is then not read at all).
struct DatasetRun {
    var directory: String
    var name: String
    var config: CHAINConfig
    var options: Trainer.Options
    var validation: Int
    var topK: [Int]
    var json: String?
    var pcaBaseline = false

    func run(_ comm: Communicator) throws {
        func path(_ suffix: String) -> String { (directory as NSString).appendingPathComponent("\(name)_\(suffix)") }
        let full = try VideoSet.load(features: path("train_feats.h5"), labels: path("train_labels.mat"))
        let train: VideoSet, queries: VideoSet, database: VideoSet
        if validation > 0 {
            guard validation < full.count else { throw ValidationFailure("--validation \(validation) leaves no training videos (\(full.count) in all)") }
            var g = Philox(seed: 20_231_029).split("validation")
            let order = g.permutation(full.count)
            train = full.subset(Array(order[validation...]).sorted(), name: "train")
            queries = full.subset(Array(order[..<validation]).sorted(), name: "validation")
            database = train
        } else {
            train = full
            queries = try VideoSet.load(features: path("test_feats.h5"), labels: path("test_labels.mat"))
            database = full
        }
        var config = config
        guard train.featureSize == config.encoder.inputSize else {
            throw ValidationFailure("\(path("train_feats.h5")): features are \(train.featureSize)-d, the model expects \(config.encoder.inputSize)")
        }
        config.encoder.maxPositions = max(config.encoder.maxPositions, train.frames)
        let trainer = Trainer(config: config, options: options, comm: comm)
        if comm.isRoot {
            print("chain-train: \(config.mode.rawValue) · \(name) · \(train.count) training videos × \(train.frames) frames × \(train.featureSize) · "
                  + "\(comm.size) rank(s) · \(trainer.model.store.parameterCount) parameters · \(config.bits) bits")
            print("  evaluation: \(queries.count) \(validation > 0 ? "held-out validation" : "test") queries against \(database.count) database videos")
        }
        if pcaBaseline && comm.isRoot {
            let pca = train.features.withUnsafeBufferPointer {
                PCASignBaseline(fit: $0.baseAddress!, videos: train.count, frames: train.frames, featureSize: train.featureSize,
                                bits: config.bits)
            }
            let q = queries.features.withUnsafeBufferPointer { pca.encode($0.baseAddress!, videos: queries.count, frames: queries.frames) }
            let d = database.features.withUnsafeBufferPointer { pca.encode($0.baseAddress!, videos: database.count, frames: database.frames) }
            let r = RetrievalEvaluation.evaluate(queries: q, database: d, queryLabels: queries.labels!, databaseLabels: database.labels!,
                                                 topK: topK)
            print("  PCA-sign baseline on the same split: " + topK.map { String(format: "mAP@%d %.4f", $0, r.mapAtK[$0]!) }.joined(separator: " ")
                  + String(format: " mAP@all %.4f", r.mapAll))
        }
        let start = Date()
        trainer.train(train) { r in
            guard comm.isRoot else { return }
            var line = String(format: "  epoch %3d/%d  loss %.4f", r.epoch, options.epochs, r.total)
            if config.mode == .conmh {
                line += String(format: " (contrastive %.4f, reconstruction %.4f)", r.contrastive, r.reconstruction)
            } else {
                line += String(format: " (contrastive %.4f, order %.4f [%.0f%%], scene %.4f [%.1f scenes/view])", r.contrastive, r.order,
                               100 * r.orderAccuracy, r.scene, r.scenesPerVideo)
            }
            line += String(format: "  lr %.2e  %.1f s", r.learningRate, r.seconds)
            print(line)
            fflush(nil)
        }
        let seconds = Date().timeIntervalSince(start)
        guard comm.isRoot else { return }
        let result = trainer.evaluate(queries: queries, database: database, topK: topK)
        print(String(format: "trained in %.0f s", seconds))
        print("| bits | " + topK.map { "mAP@\($0)" }.joined(separator: " | ") + " | mAP@all |")
        print("|---|" + topK.map { _ in "---|" }.joined() + "---|")
        print("| \(config.bits) | " + topK.map { String(format: "%.4f", result.mapAtK[$0]!) }.joined(separator: " | ")
              + String(format: " | %.4f |", result.mapAll))
        if let json {
            var object: [String: Any] = ["bits": config.bits, "mode": config.mode.rawValue, "seconds": seconds,
                                         "map_all": result.mapAll, "split": validation > 0 ? "validation" : "test",
                                         "weights": ["contrastive": config.contrastiveWeight, "order": config.orderWeight,
                                                     "scene": config.sceneWeight]]
            object["map"] = Dictionary(uniqueKeysWithValues: topK.map { ("\($0)", result.mapAtK[$0]!) })
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: json), options: .atomic)
        }
    }
}

struct ValidationFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
