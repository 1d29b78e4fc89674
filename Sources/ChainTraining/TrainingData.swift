import ChainData
import ChainDistributed
import Foundation

/// How the training features get into memory (docs/data.md).
public enum Loading: String, Codable, CaseIterable, Sendable {
    /// Memory when every rank's shard fits in half the node's memory per rank, else streaming.
    case auto
    /// Each rank holds its shard; batches are swapped between ranks (`ShardedSource`).
    case memory
    /// Batches are read from disk one step ahead (`StreamingSource`).
    case stream
}

/// A run's training split, opened for training: the feature (and augmented-copy) files, the
/// sampler over them, and the batch source the loading policy picked. Collective.
struct TrainingData {
    let features: FeatureFile
    let copies: FeatureFile?
    let sampler: DistributedSampler
    let source: BatchSource
    /// What `auto` resolved to, and the memory a rank would hold in memory mode (bytes).
    let loading: Loading
    let bytesPerRankInMemory: Int

    /// `useCopies` false ignores the dataset's augmented copies (`views.augmented_copies`).
    init(
        dataset: DatasetConfig, loading requested: Loading, useCopies: Bool, batch: Int, seed: UInt64,
        comm: Communicator
    ) throws {
        features = try FeatureFile(path: dataset.path(dataset.train.features), key: dataset.train.featureKey)
        copies = try (useCopies ? dataset.train.augmented : nil).map {
            try FeatureFile(path: dataset.path($0), key: dataset.train.augmentedKey ?? "feats", augmented: true)
        }
        sampler = try DistributedSampler(count: features.count, batchSize: batch, worldSize: comm.size, seed: seed)
        bytesPerRankInMemory = ShardedSource.memoryPerRank(
            count: features.count, frames: features.frames,
            featureSize: features.featureSize,
            copies: copies?.copies ?? 0, worldSize: comm.size,
            batch: batch)
        let budget =
            Int(ProcessInfo.processInfo.physicalMemory) / 2
            / LaunchEnvironment().ranksPerNode(worldSize: comm.size)
        loading = requested == .auto ? (bytesPerRankInMemory <= budget ? .memory : .stream) : requested
        source =
            loading == .memory
            ? try ShardedSource(features: features, augmented: copies, sampler: sampler, comm: comm)
            : try StreamingSource(features: features, augmented: copies, sampler: sampler, comm: comm)
    }

    /// "800 training videos × 25 frames × 1280 (+2 augmented copies)".
    var describeVideos: String {
        "\(features.count) training videos × \(features.frames) frames × \(features.featureSize)"
            + (copies.map { " (+\($0.copies) augmented copies)" } ?? "")
    }

    /// "memory (41.0 MB per rank in memory mode)".
    var describeLoading: String {
        "\(loading.rawValue) (\(String(format: "%.1f", Double(bytesPerRankInMemory) / 1e6)) MB per rank in memory mode)"
    }
}
