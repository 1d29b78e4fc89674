import ChainNumerics
import ChainStorage
import Foundation

/// The synthetic video benchmark (docs/data.md has the generative model).
///
/// Each class is a characteristic *sequence* of scenes drawn from a pool that classes share,
/// so which scenes appear says less about the class than their order. A video plays its
/// class's scenes with cuts at random frames, seen from its own viewpoint (a rotation in a
/// random subspace of the latent space), scale, lighting offset and motion drift, plus
/// per-frame noise; frames are sparse non-negative vectors like pooled CNN activations,
/// ReLU(g·M·z − b). Augmented copies perturb a video the same way on every frame.
/// Every draw comes from a Philox stream keyed by (seed, purpose, split, video), so the
/// output does not depend on chunking, and the same options give the same files.
public struct SyntheticVideos: Sendable {
    public struct Options: Sendable, Equatable {
        public var name = "synth"
        /// Training (= database) videos and query videos.
        public var videos = 1000
        public var queries = 200
        public var classes = 10
        public var frames = 25
        public var featureSize = 512
        /// Augmented copies per training video (0: none).
        public var augmentedCopies = 0
        public var seed: UInt64 = 1
        /// Some videos (30%) also carry a second class, whose scene replaces one of theirs.
        public var multiLabel = false
        /// Scenes per class sequence, and the latent dimension of the scene space.
        public var scenesPerClass = 4
        public var latentSize = 32
        /// Stored element type of the features.
        public var elementType: HDF5ElementType = .float32
        public init() {}
    }

    public let options: Options
    /// Latent → feature mixing M (F × k, row-major), feature thresholds b, the scene pool and
    /// each class's scene sequence.
    let mixing: [Float]
    let thresholds: [Float]
    let pool: [[Float]]
    public let classScenes: [[Int]]

    public init(_ options: Options) throws {
        let o = options
        guard o.videos >= 1, o.queries >= 1 else { throw DataError("synth: --videos and --queries must be positive") }
        guard o.classes >= 2 else { throw DataError("synth: --classes must be at least 2 (got \(o.classes))") }
        guard o.frames >= 2 else { throw DataError("synth: --frames must be at least 2 (got \(o.frames))") }
        guard o.featureSize >= 4 else { throw DataError("synth: --dim must be at least 4 (got \(o.featureSize))") }
        guard o.augmentedCopies >= 0 else { throw DataError("synth: --aug-copies must be non-negative") }
        guard (1...o.frames).contains(o.scenesPerClass) else {
            throw DataError("synth: scenes per class \(o.scenesPerClass) must be in 1...\(o.frames)")
        }
        guard !o.name.isEmpty, !o.name.contains("/") else {
            throw DataError("synth: --name '\(o.name)' is not a file-name prefix")
        }
        self.options = o
        let k = min(o.latentSize, o.featureSize)
        var world = Philox(seed: o.seed, stream: 7).split("world")
        // Sparse mixing: each feature listens to about half of the latent directions.
        var m = [Float](repeating: 0, count: o.featureSize * k)
        for i in 0..<m.count where world.nextUniform() < 0.5 {
            m[i] = world.nextGaussian() * (2 / Float(k)).squareRoot()
        }
        mixing = m
        thresholds = (0..<o.featureSize).map { _ in 0.4 + 0.4 * world.nextUniform() }
        // A pool in which each scene serves about two classes.
        let poolSize = max(o.scenesPerClass + 1, o.classes * o.scenesPerClass / 2)
        pool = (0..<poolSize).map { _ in (0..<k).map { _ in world.nextGaussian() } }
        classScenes = (0..<o.classes).map { _ in Array(world.permutation(poolSize).prefix(o.scenesPerClass)) }
    }

    var latentSize: Int { min(options.latentSize, options.featureSize) }

    /// Balanced primary classes of a split's videos (0: train, 1: query), in a random order.
    func primaryClasses(split: Int, count: Int) -> [Int] {
        var g = Philox(seed: options.seed, stream: 8).split(UInt64(split))
        return g.permutation(count).map { $0 % options.classes }
    }

    /// The classes of video `index` of a split: its primary class and, with multi-label, maybe a second.
    func classes(split: Int, index: Int, primary: Int) -> [Int] {
        guard options.multiLabel else { return [primary] }
        var v = Philox(seed: options.seed, stream: 8).split(UInt64(split)).split("second").split(UInt64(index))
        guard v.nextUniform() < 0.3 else { return [primary] }
        let other = (primary + 1 + v.nextInt(below: options.classes - 1)) % options.classes
        return [primary, other]
    }

    /// Latent frames z (T × k) of one video.
    func latentFrames(split: Int, index: Int, classes: [Int]) -> [Float] {
        let o = options, k = latentSize, t = o.frames
        var g = Philox(seed: o.seed, stream: 9).split(UInt64(split)).split(UInt64(index))
        var scenes = classScenes[classes[0]]
        if classes.count > 1 {  // the second class lends one of its scenes
            scenes[g.nextInt(below: scenes.count)] = classScenes[classes[1]][g.nextInt(below: o.scenesPerClass)]
        }
        // Cuts at random frames: S − 1 distinct cut points in 1..<T.
        let cuts = Array(g.permutation(t - 1).prefix(scenes.count - 1)).map { $0 + 1 }.sorted()
        // Viewpoint: rotations in 3 random planes of the latent space.
        let planes = (0..<3).map { _ in (g.nextInt(below: k), g.nextInt(below: k), g.nextUniform(-0.7, 0.7)) }
        let gain = g.nextUniform(0.7, 1.4)
        let lighting = (0..<k).map { _ in 0.5 * g.nextGaussian() }
        let drift = (0..<k).map { _ in 0.6 * g.nextGaussian() }
        var z = [Float](repeating: 0, count: t * k)
        var scene = 0
        for f in 0..<t {
            while scene < cuts.count && f >= cuts[scene] { scene += 1 }
            let u = pool[scenes[scene]]
            let progress = Float(f) / Float(t - 1) - 0.5
            for j in 0..<k { z[f * k + j] = gain * (u[j] + lighting[j] + progress * drift[j] + 0.3 * g.nextGaussian()) }
            for (a, b, angle) in planes where a != b {
                let (x, y) = (z[f * k + a], z[f * k + b])
                z[f * k + a] = cos(angle) * x - sin(angle) * y
                z[f * k + b] = sin(angle) * x + cos(angle) * y
            }
        }
        return z
    }

    /// A spatial perturbation of copy `copy` of a video: the same for all its frames.
    func augment(_ z: inout [Float], split: Int, index: Int, copy: Int) {
        let k = latentSize
        var g = Philox(seed: options.seed, stream: 10).split(UInt64(index)).split(UInt64(copy))
        let gain = g.nextUniform(0.85, 1.15)
        let (a, b, angle) = (g.nextInt(below: k), g.nextInt(below: k), g.nextUniform(-0.3, 0.3))
        let shift = (0..<k).map { _ in 0.15 * g.nextGaussian() }
        for f in 0..<(z.count / k) {
            for j in 0..<k { z[f * k + j] = gain * (z[f * k + j] + shift[j]) }
            if a != b {
                let (x, y) = (z[f * k + a], z[f * k + b])
                z[f * k + a] = cos(angle) * x - sin(angle) * y
                z[f * k + b] = sin(angle) * x + cos(angle) * y
            }
        }
    }

    /// Features ReLU(M·z − b) for `rows` latent frames.
    func render(_ z: [Float], rows: Int, into out: UnsafeMutablePointer<Float>, dropout: [Bool]? = nil) {
        let f = options.featureSize, k = latentSize
        z.withUnsafeBufferPointer { zp in
            mixing.withUnsafeBufferPointer { mp in
                BLAS.gemm(
                    transposeB: true, m: rows, n: f, k: k, a: zp.baseAddress!, lda: k, b: mp.baseAddress!, ldb: k,
                    c: out, ldc: f)
            }
        }
        for r in 0..<rows {
            for j in 0..<f {
                let v = out[r * f + j] - thresholds[j]
                out[r * f + j] = (dropout?[j] ?? false) ? 0 : max(v, 0)
            }
        }
    }

    /// Writes the dataset into `directory` (created if needed) in the UCF101 layout:
    /// {name}_train_feats.h5, {name}_train_labels.mat, {name}_test_feats.h5,
    /// {name}_test_labels.mat, optionally {name}_train_feats_aug.h5 (N × A × T × F), and a
    /// dataset config {name}.yaml. Streams `chunk` videos at a time; every file is written
    /// under a temporary name and renamed at the end, so a failure leaves nothing behind.
    /// Returns the paths written.
    @discardableResult
    public func write(
        to directory: String, chunk: Int = 256, progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) throws -> [String] {
        let o = options, fm = FileManager.default
        do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw DataError("\(directory): cannot create the output folder: \(error)")
        }
        func path(_ file: String) -> String { (directory as NSString).appendingPathComponent(file) }
        let total = o.videos + o.queries + o.videos * o.augmentedCopies
        var done = 0
        var temporaries: [(String, String)] = []
        do {
            for (split, count, role) in [(0, o.videos, "train"), (1, o.queries, "test")] {
                let final = path("\(o.name)_\(role)_feats.h5"), temporary = final + ".partial"
                temporaries.append((temporary, final))
                var labels = [Double](repeating: 0, count: count * o.classes)
                let primary = primaryClasses(split: split, count: count)
                try writeFeatures(temporary, count: count, copies: nil, chunk: chunk) { index, out in
                    let c = classes(split: split, index: index, primary: primary[index])
                    for cls in c { labels[index * o.classes + cls] = 1 }
                    render(latentFrames(split: split, index: index, classes: c), rows: o.frames, into: out)
                    done += 1
                    if done % 1000 == 0 { progress(done, total) }
                }
                let labelFinal = path("\(o.name)_\(role)_labels.mat")
                try MATWriter.write(
                    path: labelFinal + ".partial.mat", name: "labels", rows: count, columns: o.classes, values: labels)
                temporaries.append((labelFinal + ".partial.mat", labelFinal))
            }
            if o.augmentedCopies > 0 {
                let final = path("\(o.name)_train_feats_aug.h5"), temporary = final + ".partial"
                temporaries.append((temporary, final))
                let rows = o.frames, f = o.featureSize
                let primary = primaryClasses(split: 0, count: o.videos)
                try writeFeatures(
                    temporary, count: o.videos, copies: o.augmentedCopies, chunk: max(1, chunk / o.augmentedCopies)
                ) { index, out in
                    let base = latentFrames(
                        split: 0, index: index, classes: classes(split: 0, index: index, primary: primary[index]))
                    for copy in 0..<o.augmentedCopies {
                        var z = base
                        augment(&z, split: 0, index: index, copy: copy)
                        var g = Philox(seed: o.seed, stream: 11).split(UInt64(index)).split(UInt64(copy))
                        let mask = (0..<f).map { _ in g.nextUniform() < 0.1 }
                        render(z, rows: rows, into: out + copy * rows * f, dropout: mask)
                        done += 1
                        if done % 1000 == 0 { progress(done, total) }
                    }
                }
            }
            var config = DatasetConfig.publicLayout(
                name: o.name, root: ".", frames: o.frames, featureSize: o.featureSize,
                classes: o.classes)
            if o.augmentedCopies > 0 { config.train.augmented = "\(o.name)_train_feats_aug.h5" }
            let yaml = "# Generated by chain-data synth (seed \(o.seed)); see docs/data.md.\n" + (try config.yaml())
            let yamlFinal = path("\(o.name).yaml")
            guard fm.createFile(atPath: yamlFinal + ".partial", contents: Data(yaml.utf8)) else {
                throw DataError("\(yamlFinal): cannot write")
            }
            temporaries.append((yamlFinal + ".partial", yamlFinal))
            for (temporary, final) in temporaries {
                if fm.fileExists(atPath: final) { try fm.removeItem(atPath: final) }
                try fm.moveItem(atPath: temporary, toPath: final)
            }
        } catch {
            for (temporary, _) in temporaries { try? fm.removeItem(atPath: temporary) }
            throw error
        }
        progress(total, total)
        return temporaries.map(\.1)
    }

    /// Creates an (N, T, F) or (N, A, T, F) dataset `feats` and fills it chunk by chunk;
    /// `fill(video, out)` writes one video's copies·T·F floats.
    private func writeFeatures(
        _ path: String, count: Int, copies: Int?, chunk: Int,
        fill: (Int, UnsafeMutablePointer<Float>) -> Void
    ) throws {
        let o = options
        let perVideo = (copies ?? 1) * o.frames * o.featureSize
        let file = try HDF5File(path: path, mode: .truncate)
        defer { file.close() }
        let shape = copies.map { [count, $0, o.frames, o.featureSize] } ?? [count, o.frames, o.featureSize]
        var chunkShape = shape; chunkShape[0] = 1
        let d = try file.createDataset("feats", shape: shape, type: o.elementType, chunkShape: chunkShape)
        try file.attributes.set("generator", "chain-data synth")
        try file.attributes.set("seed", Int64(o.seed))
        let buffer = Tensor(shape: [min(chunk, count), perVideo])
        var first = 0
        while first < count {
            let n = min(chunk, count - first)
            for i in 0..<n { fill(first + i, buffer.pointer + i * perVideo) }
            var start = shape.map { _ in 0 }; start[0] = first
            var size = shape; size[0] = n
            try d.write(start: start, count: size, from: buffer.pointer)
            first += n
        }
        try file.flush()
    }
}
