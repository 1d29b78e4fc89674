import ArgumentParser
import ChainCLI
import ChainData
import ChainEvaluation
import ChainDistributed
import ChainModel
import ChainNN
import ChainNumerics
import ChainTraining
import Foundation

/// `chain-bench`: speed measurements of the engine (release builds only give real figures).
@main
struct ChainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chain-bench",
        abstract: "Benchmarks of the CHAIN engine.",
        discussion: """
            Figures are medians over --steps timed runs after --warmup runs. For comparisons with
            other libraries, run both in the same command on the same machine, and unset
            OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for both (they select a slower kernel).
            """,
        subcommands: [
            Encoder.self, TorchStep.self, ChainStep.self, AllReduce.self, Affinity.self, Sgemm.self, Loader.self,
            Retrieval.self, FeatureNetworkBench.self, CodeMapBench.self,
        ],
        defaultSubcommand: Encoder.self)
}

/// Times sgemm on a given shape (best of rounds), the reference rate for efficiency figures.
struct Sgemm: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure the sgemm rate of OpenBLAS on one shape.")
    @Option(help: "Rows of A and C.") var m = 3200
    @Option(help: "Columns of B and C.") var n = 256
    @Option(help: "Inner dimension.") var k = 4096
    @Option(help: "BLAS threads.") var threads = 1

    func run() {
        BLAS.threads = threads
        print("OpenBLAS: \(BLAS.configuration), threads \(BLAS.threads)")
        let rate = SgemmProbe.rate(m: m, n: n, k: k)
        print(String(format: "sgemm %d×%d×%d: %.1f GFLOP/s", m, n, k, rate))
    }
}

enum SgemmProbe {
    /// Best-of-5-rounds GFLOP/s of C = A·B for the shape (row-major, no transposes).
    static func rate(m: Int, n: Int, k: Int, rounds: Int = 5) -> Double {
        let a = Tensor(shape: [m, k]), b = Tensor(shape: [k, n]), c = Tensor(shape: [m, n])
        var g = Philox(seed: 7)
        for i in 0..<a.count { a.pointer[i] = g.nextUniform(-1, 1) }
        for i in 0..<b.count { b.pointer[i] = g.nextUniform(-1, 1) }
        let flops = 2.0 * Double(m * n * k)
        let reps = max(1, Int(2e9 / flops))
        for _ in 0..<2 { BLAS.gemm(m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: n, c: c.pointer, ldc: n) }
        var best = Double.infinity
        for _ in 0..<rounds {
            let t = ContinuousClock.now
            for _ in 0..<reps {
                BLAS.gemm(m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: n, c: c.pointer, ldc: n)
            }
            best = min(best, (ContinuousClock.now - t).seconds / Double(reps))
        }
        return flops / best / 1e9
    }
}

/// Forward + backward of the transformer encoder (projection, positional embedding, blocks,
/// final norm) on random frame features, against the sgemm rate measured in the same run.
/// How `chain-bench encoder` uses its threads.
enum Parallelism: String, CaseIterable {
    /// The batch split by sequences, one BLAS thread each.
    case workers
    /// OpenBLAS threads inside each call.
    case blas
}

struct Encoder: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time encoder forward+backward and report GFLOP/s and the fraction of the sgemm rate.")
    @Option(help: "Videos per step.") var batch = 128
    @Option(help: "Frames per video.") var frames = 25
    @Option(help: "Frame feature size F.") var features = 4096
    @Option(help: "Model width d.") var model = 256
    @Option(help: "Attention heads.") var heads = 8
    @Option(help: "Feed-forward width.") var ffn = 1024
    @Option(help: "Transformer blocks.") var layers = 2
    @Option(help: "Layer-norm placement: pre or post.", transform: choice("--placement")) var placement = NormPlacement
        .pre
    @Option(help: "Threads.") var threads = 1
    @Option(
        help:
            ArgumentHelp(
                "How threads are used: workers (the batch split by sequences, one BLAS thread each) or blas (OpenBLAS "
                    + "threads inside each call)."),
        transform: choice("--parallel"))
    var parallel = Parallelism.workers
    @Option(help: "Timed steps.") var steps = 10
    @Option(help: "Untimed warm-up steps.") var warmup = 2

    func validate() throws {
        guard model % heads == 0 else { throw ValidationError("--model \(model) is not divisible by --heads \(heads)") }
        guard steps > 0, warmup >= 0, batch > 0, frames > 0 else {
            throw ValidationError("sizes and steps must be positive")
        }
    }

    func run() {
        let workers = parallel == .workers ? threads : 1
        BLAS.threads = parallel == .workers ? 1 : threads
        let config = EncoderConfig(
            inputSize: features, modelSize: model, layers: layers, heads: heads, ffnSize: ffn,
            maxPositions: frames, placement: placement)
        var layout = ParameterLayout()
        let encoder = TransformerEncoder("encoder", config: config, layout: &layout)
        let store = ParameterStore(layout: layout)
        store.initialize(Philox(seed: 1))
        let acts = TransformerEncoder.Activations(encoder, maxBatch: batch, seqLen: frames, workers: workers)
        let rows = batch * frames
        let input = Tensor(shape: [rows, features]), dOut = Tensor(shape: [rows, model])
        var g = Philox(seed: 2)
        for i in 0..<input.count { input.pointer[i] = max(0, g.nextGaussian()) }
        for i in 0..<dOut.count { dOut.pointer[i] = g.nextGaussian() * 1e-3 }
        let positions = (0..<rows).map { Int32($0 % frames) }
        var rng = Philox(seed: 3)

        func step() {
            positions.withUnsafeBufferPointer { pos in
                store.zeroGradients()
                encoder.forward(
                    input.pointer, positions: pos.baseAddress!, batch: batch, acts, store, rng: &rng, training: true)
                encoder.backward(input.pointer, positions: pos.baseAddress!, dOutput: dOut.pointer, acts, store)
            }
        }
        for _ in 0..<warmup { step() }
        var times: [Double] = []
        for _ in 0..<steps {
            let t = ContinuousClock.now
            step()
            times.append((ContinuousClock.now - t).seconds)
        }
        times.sort()
        let median = times[times.count / 2], best = times[0]
        let flop = EncoderFLOPs(batch: batch, frames: frames, config: config).trainingStep
        BLAS.threads = threads
        let sgemm = SgemmProbe.rate(m: rows, n: model, k: features)
        let achieved = flop / median / 1e9
        print("OpenBLAS: \(BLAS.configuration), \(threads) threads (\(parallel))")
        print(
            "encoder B=\(batch) T=\(frames) F=\(features) d=\(model) heads=\(heads) ffn=\(ffn) layers=\(layers) "
                + "\(placement)-LN, \(store.parameterCount) parameters"
        )
        print(
            String(
                format: "forward+backward: median %.1f ms (min %.1f) over %d steps | %.2f GFLOP/step | %.1f GFLOP/s",
                median * 1e3, best * 1e3, steps, flop / 1e9, achieved))
        print(
            String(
                format: "sgemm %d×%d×%d in the same run: %.1f GFLOP/s → encoder at %.0f%% of the sgemm rate",
                rows, model, features, sgemm, 100 * achieved / sgemm))
    }
}

/// Matrix-multiply FLOPs (2·m·n·k) of an encoder training step, counted analytically.
struct EncoderFLOPs {
    let batch: Int, frames: Int, config: EncoderConfig

    /// Forward of the blocks (projections, FFN and the two attention products).
    var blocksForward: Double {
        let n = Double(batch * frames), d = Double(config.modelSize), inner = Double(config.heads * config.headSize)
        let f = Double(config.ffnSize), t = Double(frames)
        let perLayer =
            2 * n * d * 3 * inner + 2 * n * inner * d + 2 * 2 * n * d * f
            + 2 * 2 * Double(batch) * Double(config.heads) * t * t * Double(config.headSize)
        return Double(config.layers) * perLayer
    }

    var projectionForward: Double { 2 * Double(batch * frames) * Double(config.inputSize) * Double(config.modelSize) }

    /// Forward + backward: blocks 3× forward; the input projection 2× (its input is data,
    /// so backward forms only the weight gradient).
    var trainingStep: Double { 3 * blocksForward + 2 * projectionForward }
}

/// Read throughput of the streaming loader: batches of random videos (one epoch's sampler
/// slices, as one rank of --world-size sees them) through the double-buffered prefetcher.
struct Loader: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure how fast training batches stream from a feature file.")
    @Argument(help: "HDF5 feature file (N × T × F).") var features: String
    @Option(help: "Dataset key.") var key = "feats"
    @Option(help: "Global batch (videos).") var batch = 64
    @Option(help: "World size whose rank-0 slices are read.") var worldSize = 1
    @Option(help: "Batches to read.") var batches = 50
    @Option(help: "Simulated training time per step, in ms (the reader overlaps it).") var computeMs = 0.0

    func run() throws {
        let file = try FeatureFile(path: features, key: key)
        let sampler = try DistributedSampler(count: file.count, batchSize: batch, worldSize: worldSize, seed: 1)
        let order = sampler.order(epoch: 0)
        let n = min(batches, sampler.stepsPerEpoch)
        let slices = (0..<n).map { sampler.videos(order, step: $0, rank: 0) }
        let start = ContinuousClock.now
        var waited = 0.0
        let prefetcher = FeaturePrefetcher(file: file, batches: slices)
        for _ in 0..<n {
            let t = ContinuousClock.now
            _ = try prefetcher.next()
            waited += (ContinuousClock.now - t).seconds
            if computeMs > 0 { Thread.sleep(forTimeInterval: computeMs / 1000) }
        }
        let seconds = (ContinuousClock.now - start).seconds
        let videos = slices.map(\.count).reduce(0, +)
        let bytes = Double(videos * file.videoStride * 4)
        print("\(file.path): \(file.count) videos × \(file.frames) × \(file.featureSize) \(file.elementType)")
        print(
            String(
                format:
                    "%d batches of %d random videos: %.2f s, %.0f videos/s, %.0f MB/s as float32; waited %.2f s for "
                    + "data (%.1f ms/step)",
                n, videos / n, seconds, Double(videos) / seconds, bytes / seconds / 1e6, waited,
                1000 * waited / Double(n)))
    }
}

/// Hamming ranking and mAP at FCVID scale: random codes and labels, queries = database.
struct Retrieval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time mAP@K over Hamming ranking (FCVID protocol: queries = database).")
    @Option(help: "Videos (queries = database).") var videos = 45_600
    @Option(help: "Code length.") var bits = 64
    @Option(help: "Label classes.") var classes = 239
    @Option(help: "Fraction of videos with a second label (0: single-label, as FCVID).") var secondLabel = 0.3
    @Option(help: "Timed runs (median reported).") var runs = 3

    func run() throws {
        var g = Philox(seed: 5)
        var codes = [Float](repeating: 0, count: videos * bits)
        for i in 0..<codes.count { codes[i] = g.nextUniform() < 0.5 ? -1 : 1 }
        var labels = [UInt8](repeating: 0, count: videos * classes)
        for v in 0..<videos {
            labels[v * classes + g.nextInt(below: classes)] = 1
            if Double(g.nextUniform()) < secondLabel { labels[v * classes + g.nextInt(below: classes)] = 1 }
        }
        let packed = codes.withUnsafeBufferPointer { PackedCodes(values: $0.baseAddress!, count: videos, bits: bits) }
        codes = []
        let matrix = LabelMatrix(rows: videos, classes: classes, values: labels)
        var times: [Double] = []
        var result: RetrievalEvaluation.Result?
        for _ in 0..<runs {
            let t = ContinuousClock.now
            result = RetrievalEvaluation.evaluate(
                queries: packed, database: packed, queryLabels: matrix, databaseLabels: matrix,
                topK: [5, 20, 40, 60, 80, 100])
            times.append((ContinuousClock.now - t).seconds)
        }
        times.sort()
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print(
            "\(videos) queries × \(videos) database × \(bits) bits, \(classes) classes (\(Int(100 * secondLabel))% "
                + "with a second label), \(ProcessInfo.processInfo.activeProcessorCount) cores"
        )
        print(
            String(format: "median %.2f s", times[times.count / 2]) + " (runs: "
                + times.map { String(format: "%.2f", $0) }.joined(separator: ", ")
                + String(
                    format: "), peak RSS %.0f MB; mAP@5 %.4f mAP@all %.4f", Double(usage.ru_maxrss) / 1024,
                    result!.mapAtK[5]!, result!.mapAll))
    }
}

/// The training step of ../shared/bench/torch_step.py (same model, views, losses and AdamW),
/// timed the way that script times it, with the sgemm rate of its largest product measured
/// in the same run.
struct TorchStep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "torch-step",
        abstract: "Time the PyTorch benchmark's training step (../shared/bench/torch_step.py) in this engine.")
    @Option(help: "Clips per step.") var batch = 128
    @Option(help: "Frames per clip.") var frames = 25
    @Option(help: "Frame feature size.") var features = 4096
    @Option(help: "Threads.") var threads = 1
    @Option(
        help: "How threads are used: workers (clips split over threads, one BLAS thread each) or blas.",
        transform: choice("--parallel"))
    var parallel = Parallelism.workers
    @Flag(
        inversion: .prefixedNo,
        help: "Project each clip's frames once for both views (view 2 is a permutation of view 1).")
    var shareProjection = true
    @Option(help: "Timed steps.") var steps = 10
    @Option(help: "Untimed warm-up steps.") var warmup = 3

    func validate() throws {
        guard steps > 0, warmup >= 0, batch > 1, frames > 1, features > 0, threads > 0 else {
            throw ValidationError("sizes, threads and steps must be positive (batch and frames ≥ 2)")
        }
    }

    func run() {
        let workers = parallel == .workers ? threads : 1
        BLAS.threads = parallel == .workers ? 1 : threads
        var shape = ReferenceHashNet.Shape()
        shape.batch = batch
        shape.frames = frames
        shape.features = features
        let net = ReferenceHashNet(shape: shape, seed: 0, workers: workers, shareProjection: shareProjection)
        let clips = Tensor(shape: [batch * frames, features])
        var g = Philox(seed: 2)
        for i in 0..<clips.count { clips.pointer[i] = g.nextGaussian() }
        var rng = Philox(seed: 3)
        for _ in 0..<warmup { net.step(clips.pointer, rng: &rng) }
        var times: [Double] = []
        var loss = 0.0
        for _ in 0..<steps {
            let t = ContinuousClock.now
            loss = net.step(clips.pointer, rng: &rng).total
            times.append((ContinuousClock.now - t).seconds)
        }
        times.sort()
        let median = times[times.count / 2], best = times[0]
        let torchFlop = ReferenceHashNet.torchFLOPs(shape)
        let performed = ReferenceHashNet.performedFLOPs(shape, shareProjection: shareProjection)
        BLAS.threads = threads
        let sgemm = SgemmProbe.rate(m: batch * frames, n: shape.modelSize, k: features)
        print(
            "OpenBLAS: \(BLAS.configuration), \(threads) threads (\(parallel)), projection "
                + "\(shareProjection ? "shared by the views" : "per view")"
        )
        print(
            String(
                format:
                    "B=%d T=%d D=%d threads=%d params=%.2fM | median %.1f ms/step (min %.1f) | %.1f clips/s | loss "
                    + "%.3f",
                batch, frames, features, threads, Double(net.store.parameterCount) / 1e6, median * 1e3, best * 1e3,
                Double(batch) / median, loss))
        print(
            String(
                format:
                    "torch's analytic count %.1f GFLOP/step → %.1f GFLOP/s (%.0f%% of sgemm); performed %.1f "
                    + "GFLOP/step → %.1f GFLOP/s (%.0f%%)",
                torchFlop / 1e9, torchFlop / median / 1e9, 100 * torchFlop / median / 1e9 / sgemm,
                performed / 1e9, performed / median / 1e9, 100 * performed / median / 1e9 / sgemm))
        print(
            String(
                format: "sgemm %d×%d×%d in the same run: %.1f GFLOP/s", batch * frames, shape.modelSize, features, sgemm
            ))
    }
}
