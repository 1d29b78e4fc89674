import ChainNN
import ChainNumerics

/// Groups each video's frames into scenes with affinity propagation and forms one unit
/// prototype per scene.
///
/// Per video: the frames' activations are L2-normalised (û), similarities are −‖û_i − û_j‖²,
/// affinity propagation labels the frames, and a scene's prototype is the normalised mean of
/// its frames' û. Nothing here carries gradient. A video whose clustering finds no
/// exemplar (possible when it does not converge) contributes no prototype, and its frames get
/// target −1 (no scene loss).
public struct SceneSegmentation: Sendable, Equatable {
    public var clustering: AffinityPropagation

    public init(clustering: AffinityPropagation = AffinityPropagation()) { self.clustering = clustering }

    /// The scenes of a batch of videos.
    public struct Scenes: Sendable {
        /// [count, dim] unit prototypes, video by video.
        public var prototypes: [Float]
        public var count: Int
        /// For each frame, the index of its scene's prototype in `prototypes`, or −1.
        public var assignment: [Int32]
        /// Scenes found in each video.
        public var scenesPerVideo: [Int]
    }

    /// activations: [videos·frames, dim], video-major. With `workers` > 1 the videos are split
    /// over threads (each video is its own problem); the result is the same.
    public func segment(_ activations: UnsafePointer<Float>, videos: Int, frames: Int, dim: Int, workers: Int) -> Scenes
    {
        let parts = min(max(workers, 1), max(videos, 1))
        guard parts > 1 else { return segment(activations, videos: videos, frames: frames, dim: dim) }
        var results = [Scenes?](repeating: nil, count: parts)
        results.withUnsafeMutableBufferPointer { out in
            Parallel.forEach(parts) { p in
                let share = Parallel.share(p, of: parts, total: videos)
                out[p] = segment(
                    activations + share.lowerBound * frames * dim, videos: share.count, frames: frames, dim: dim)
            }
        }
        var merged = Scenes(prototypes: [], count: 0, assignment: [], scenesPerVideo: [])
        for case let part? in results {
            merged.prototypes += part.prototypes
            merged.assignment += part.assignment.map { $0 < 0 ? -1 : $0 + Int32(merged.count) }
            merged.scenesPerVideo += part.scenesPerVideo
            merged.count += part.count
        }
        return merged
    }

    /// activations: [videos·frames, dim], video-major.
    public func segment(_ activations: UnsafePointer<Float>, videos: Int, frames: Int, dim: Int) -> Scenes {
        var prototypes: [Float] = []
        var assignment = [Int32](repeating: -1, count: videos * frames)
        var perVideo = [Int](repeating: 0, count: videos)
        let unit = Tensor(shape: [frames, dim]), norms = Tensor(shape: [frames])
        var count = 0
        for v in 0..<videos {
            RowNormalization.forward(
                activations + v * frames * dim, unit.pointer, norms: norms.pointer,
                rows: frames, columns: dim)
            let s = AffinityPropagation.negativeSquaredDistances(unit.pointer, count: frames, dimension: dim)
            let result = clustering.fit(similarities: s, count: frames)
            guard result.clusterCount > 0 else { continue }
            perVideo[v] = result.clusterCount
            for c in 0..<result.clusterCount {
                var mean = [Float](repeating: 0, count: dim)
                for f in 0..<frames where result.labels[f] == c {
                    for k in 0..<dim { mean[k] += unit.pointer[f * dim + k] }
                    assignment[v * frames + f] = Int32(count + c)
                }
                let norm = max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                prototypes += mean.map { $0 / norm }
            }
            count += result.clusterCount
        }
        return Scenes(prototypes: prototypes, count: count, assignment: assignment, scenesPerVideo: perVideo)
    }
}
