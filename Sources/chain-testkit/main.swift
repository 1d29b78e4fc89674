// chain-testkit: scenarios the test suite runs under `mpirun -np N` to check the MPI layer
// against hand-computed results. Each prints "PASS <scenario>" on rank 0 and exits 0, or
// prints what differed and exits 1. Not installed for users.
import ChainData
import ChainDistributed
import ChainModel
import ChainNN
import ChainNumerics
import ChainStorage
import ChainToy
import ChainTraining
import Foundation

func fail(_ comm: Communicator, _ message: String) -> Never {
    FileHandle.standardError.write(Data("FAIL rank \(comm.rank): \(message)\n".utf8))
    comm.abort(1)
}

func check(_ comm: Communicator, _ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fail(comm, message()) }
}

/// ‖a − b‖ / ‖b‖ in double precision.
func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
    var diff = 0.0, norm = 0.0
    for i in 0..<a.count { diff += Double(a[i] - b[i]) * Double(a[i] - b[i]); norm += Double(b[i]) * Double(b[i]) }
    return (diff / max(norm, 1e-300)).squareRoot()
}

/// All-reduce (sum, max, min), all-gather (equal and variable counts), reduce-scatter and
/// broadcast on rank-dependent data, compared with closed forms.
func collectives(_ comm: Communicator) {
    let r = comm.rank, n = comm.size
    var sum = (0..<5).map { Float(r + 1) * Float($0 + 1) }
    sum.withUnsafeMutableBufferPointer { comm.allReduce($0, .sum) }
    let totalRanks = Float(n * (n + 1) / 2)
    for i in 0..<5 { check(comm, sum[i] == totalRanks * Float(i + 1), "allReduce sum[\(i)] = \(sum[i])") }
    var mx = [Float(r), -Float(r)]
    mx.withUnsafeMutableBufferPointer { comm.allReduce($0, .max) }
    check(comm, mx == [Float(n - 1), 0], "allReduce max = \(mx)")
    var mn = [Double(r) + 0.5]
    mn.withUnsafeMutableBufferPointer { comm.allReduce($0, .min) }
    check(comm, mn == [0.5], "allReduce min = \(mn)")
    check(comm, comm.allReduce(r + 1) == n * (n + 1) / 2, "allReduce Int")

    let mine = [Float(10 * r), Float(10 * r + 1), Float(10 * r + 2)]
    var gathered = [Float](repeating: -1, count: 3 * n)
    mine.withUnsafeBufferPointer { s in gathered.withUnsafeMutableBufferPointer { comm.allGather(s, into: $0) } }
    var expectedGather: [Float] = []
    for q in 0..<n { for j in 0..<3 { expectedGather.append(Float(10 * q + j)) } }
    check(comm, gathered == expectedGather, "allGather = \(gathered)")

    let counts = (0..<n).map { $0 + 1 }
    let variable = [Float](repeating: Float(r), count: r + 1)
    var gatheredV = [Float](repeating: -1, count: counts.reduce(0, +))
    variable.withUnsafeBufferPointer { s in
        gatheredV.withUnsafeMutableBufferPointer { comm.allGather(s, counts: counts, into: $0) }
    }
    var expectedV: [Float] = []
    for q in 0..<n { expectedV += [Float](repeating: Float(q), count: q + 1) }
    check(comm, gatheredV == expectedV, "allGatherV = \(gatheredV)")

    // reduceScatter is allGather's adjoint: <allGather(x), y> == <x, reduceScatter(y)>.
    let y = (0..<(2 * n)).map { Float($0 + 1) * Float(r + 1) }
    var block = [Float](repeating: 0, count: 2)
    y.withUnsafeBufferPointer { s in block.withUnsafeMutableBufferPointer { comm.reduceScatter(s, into: $0) } }
    let expected = (0..<2).map { Float(2 * r + $0 + 1) * totalRanks }
    check(comm, block == expected, "reduceScatter = \(block), expected \(expected)")

    var b = r == 0 ? [Float(3.5), 7] : [0, 0]
    b.withUnsafeMutableBufferPointer { comm.broadcast($0, root: 0) }
    check(comm, b == [3.5, 7], "broadcast = \(b)")
    var bytes: [UInt8] = r == n - 1 ? Array("from the last rank".utf8) : []
    comm.broadcast(&bytes, root: n - 1)
    check(comm, String(decoding: bytes, as: UTF8.self) == "from the last rank", "broadcast bytes")
    comm.barrier()
}

/// Data-parallel toy training over N ranks must match one process training on the whole
/// global batch; rank 0 runs that reference itself (on MPI_COMM_SELF). Checked: the
/// all-reduced gradient of the first step, and the parameters after several AdamW steps,
/// both as ‖a − b‖ / ‖b‖ ≤ 1e-5 (summation order differs, so bitwise equality is not expected).
func toyEquivalence(_ comm: Communicator) {
    var options = ToyTrainer.Options()
    options.steps = 6
    options.globalClips = 4 * comm.size
    options.learningRate = 1e-2
    options.warmupSteps = 2

    // First-step gradients.
    var firstStep = options
    firstStep.steps = 1
    let oneStep = ToyTrainer(firstStep)
    oneStep.train(comm)
    let gradient = oneStep.toy.store.gradients.toArray()

    let distributed = ToyTrainer(options)
    distributed.train(comm)
    let params = distributed.toy.store.values.toArray()
    var spread = params
    spread.withUnsafeMutableBufferPointer { comm.allReduce($0, .max) }
    check(comm, spread == params, "replicas diverged")
    if comm.isRoot {
        let singleOneStep = ToyTrainer(firstStep)
        singleOneStep.train(Communicator.local)
        let gradientError = relativeDifference(gradient, singleOneStep.toy.store.gradients.toArray())
        let single = ToyTrainer(options)
        single.train(Communicator.local)
        let parameterError = relativeDifference(params, single.toy.store.values.toArray())
        print(
            "relative gradient difference \(gradientError), relative parameter difference after \(options.steps) "
                + "steps \(parameterError)"
        )
        check(comm, gradientError <= 1e-5, "first-step gradients differ: \(gradientError)")
        check(comm, parameterError <= 1e-5, "parameters differ after \(options.steps) steps: \(parameterError)")
    }
}

/// CHAIN's training step over N ranks (per-rank batch b, gathers with gradients sent back
/// through reduce-scatter, all-reduced parameter gradients) must match one process with the
/// whole batch N·b: first-step gradients and parameters after 4 AdamW steps, as relative
/// norms ≤ 1e-5. Videos differ per rank, so a wrong gather gradient cannot cancel out.
/// Dropout is off.
///
/// Chain mode runs twice. With the scene task (β = 1) only the first step is compared:
/// affinity propagation is discontinuous, the ranks' matrix products round differently from
/// one process's (different row counts), and AdamW's first steps turn 1e-7 differences in
/// near-zero gradient entries into lr-sized moves, after which a scene label can flip. The
/// multi-step comparison runs with β = 0, where the loss is smooth.
func chainEquivalence(_ comm: Communicator, mode: CHAINConfig.Mode) {
    if mode == .chain {
        chainEquivalence(comm, mode: mode, sceneWeight: 1, steps: 1)
        chainEquivalence(comm, mode: mode, sceneWeight: 0, steps: 4)
        chainEquivalence(comm, mode: mode, sceneWeight: 0, steps: 2, reversedNegatives: true)
    } else {
        chainEquivalence(comm, mode: mode, sceneWeight: 0, steps: 4)
    }
}

func chainEquivalence(
    _ comm: Communicator, mode: CHAINConfig.Mode, sceneWeight: Float, steps: Int, reversedNegatives: Bool = false
) {
    let perRank = 3, global = perRank * comm.size, frames = 10, features = 12
    var config: CHAINConfig
    if mode == .conmh {
        config = CHAINConfig.conmh(
            featureSize: features, frames: frames, bits: 8, modelSize: 16, layers: 2, heads: 2,
            headSize: 8, ffnSize: 24)
        config.conmh.decoderWidth = 12; config.conmh.decoderHeads = 2
    } else {
        config = CHAINConfig(
            featureSize: features, maxFrames: frames, bits: 8, modelSize: 16, layers: 2, heads: 2,
            ffnSize: 24, viewFrames: 5)
        config.contrastive.debiasPrior = 0.1
        config.sceneWeight = sceneWeight  // 1: include the gathered scene prototypes
        config.reversedNegatives = reversedNegatives  // each rank's block holds its reversed views too
    }
    config.encoder.dropout = 0
    var g = Philox(seed: 77)
    let videos = (0..<(global * frames * features)).map { i in Float((i / features) % 7) * 0.1 + g.nextGaussian() }

    func train(_ exchange: Communicator, first: Int, count: Int, steps: Int) -> (gradient: [Float], parameters: [Float])
    {
        let model = CHAINModel(config: config, seed: 5)
        let step = makeTrainingStep(model: model, maxBatch: count)
        let optimizer = AdamW(model.store)
        var firstGradient: [Float] = []
        for s in 0..<steps {
            model.store.zeroGradients()
            var rng = Philox(seed: 9).split(UInt64(s))
            videos.withUnsafeBufferPointer { v in
                _ = step.run(
                    videos: v.baseAddress! + first * frames * features, batch: count, frames: frames, rng: &rng,
                    videoRandom: Philox(seed: 11).split(UInt64(s)),
                    videoIDs: (first..<(first + count)).map { UInt64($0) }, exchange: exchange)
            }
            exchange.allReduce(model.store.gradients.buffer)
            if s == 0 { firstGradient = model.store.gradients.toArray() }
            optimizer.update(model.store, learningRate: 1e-2)
        }
        return (firstGradient, model.store.values.toArray())
    }

    let distributed = train(comm, first: comm.rank * perRank, count: perRank, steps: steps)
    if comm.isRoot {
        let single = train(Communicator.local, first: 0, count: global, steps: steps)
        let gradientError = relativeDifference(distributed.gradient, single.gradient)
        let parameterError = relativeDifference(distributed.parameters, single.parameters)
        let variant = "\(mode.rawValue), β = \(sceneWeight)\(reversedNegatives ? ", reversed negatives" : "")"
        print(
            "\(variant): relative gradient difference \(gradientError), parameters after \(steps) steps "
                + "\(parameterError)")
        check(comm, gradientError <= 1e-5, "first-step gradients differ: \(gradientError)")
        check(comm, parameterError <= 1e-5, "parameters differ: \(parameterError)")
    }
}

/// The three batch sources serve identical batches at any world size (including after a
/// resume mid-epoch), and a Trainer fed by the sharded source ends with the parameters of a
/// single process trained on the whole set.
func dataSources(_ comm: Communicator) {
    let folder =
        NSTemporaryDirectory()
        + "chain-testkit-data-\(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] ?? "1")-\(getppid())"
    var o = SyntheticVideos.Options()
    o.name = "kit"; o.videos = 37; o.queries = 5; o.classes = 4; o.frames = 6; o.featureSize = 12;
    o.augmentedCopies = 2; o.seed = 21
    if comm.isRoot {
        do { try SyntheticVideos(o).write(to: folder, chunk: 5) } catch { fail(comm, "synth: \(error)") }
    }
    comm.barrier()
    defer { comm.barrier(); if comm.isRoot { try? FileManager.default.removeItem(atPath: folder) } }
    do {
        let features = try FeatureFile(path: folder + "/kit_train_feats.h5")
        let copies = try FeatureFile(path: folder + "/kit_train_feats_aug.h5", augmented: true)
        let all = try VideoSet.load(features: features.path)
        let augmentedValues = try HDF5File(path: copies.path).dataset("feats").readFloats()
        let sampler = try DistributedSampler(count: 37, batchSize: 12, worldSize: comm.size, seed: 4)
        let sources: [BatchSource] = [
            ReplicatedSource(all, augmented: (augmentedValues, 2), sampler: sampler, rank: comm.rank),
            try ShardedSource(features: features, augmented: copies, sampler: sampler, comm: comm),
            try StreamingSource(features: features, augmented: copies, sampler: sampler, comm: comm),
        ]
        let stride = 6 * 12, local = 12 / comm.size
        let stds = try sources.map { try $0.featureStandardDeviation() }
        check(comm, stds.allSatisfy { relativeDifference($0, stds[0]) < 1e-6 }, "feature std differs between sources")
        let moments = try sources.map { try $0.frameMoments() }
        for m in moments {
            check(comm, m.rows == 37 * 6, "frame moments over \(m.rows) frames")
            check(
                comm, relativeDifference(m.covariance.map(Float.init), moments[0].covariance.map(Float.init)) < 1e-5,
                "frame covariance differs between sources")
        }
        for (epoch, firstStep) in [(0, 0), (1, 1), (2, 0)] {
            let order = sampler.order(epoch: epoch)
            for source in sources { try source.startEpoch(order: order, firstStep: firstStep) }
            for step in firstStep..<sampler.stepsPerEpoch {
                let mine = sampler.videos(order, step: step, rank: comm.rank)
                for (k, source) in sources.enumerated() {
                    let b = try source.batch(step: step)
                    check(
                        comm, b.videos == mine,
                        "source \(k) epoch \(epoch) step \(step): other videos than the sampler's")
                    for (slot, v) in mine.enumerated() {
                        for i in 0..<stride where b.features[slot * stride + i] != all.features[v * stride + i] {
                            fail(comm, "source \(k) epoch \(epoch) step \(step): video \(v) differs")
                        }
                        for i in 0..<(2 * stride)
                        where b.augmented![slot * 2 * stride + i] != augmentedValues[v * 2 * stride + i] {
                            fail(comm, "source \(k) epoch \(epoch) step \(step): augmented copies of video \(v) differ")
                        }
                    }
                    check(comm, mine.count == local, "slice of \(mine.count) videos")
                }
            }
        }
        // Training: sharded source on N ranks == one process on the whole set, with and
        // without the PCA input shortcut (fitted from the sources' moment sample).
        for shortcut in InputShortcut.allCases {
            var config = CHAINConfig(
                featureSize: 12, maxFrames: 6, bits: 8, modelSize: 16, layers: 1, heads: 2, ffnSize: 24,
                viewFrames: 4)
            config.encoder.dropout = 0
            config.inputShortcut = shortcut
            var options = Trainer.Options()
            options.epochs = 2; options.batchSize = 12; options.seed = 4; options.warmupEpochs = 1
            let distributed = Trainer(config: config, options: options, comm: comm)
            try distributed.train(sources[1], sampler: sampler)
            // Evaluation encoding spread over the ranks gives the codes one process computes.
            let spread = try distributed.encoder.encodeDistributed(features, batchSize: 5)
            let alone = try distributed.encoder.encode(features)
            check(comm, spread == alone, "distributed encoding differs from single-process encoding")
            if comm.isRoot {
                let single = Trainer(config: config, options: options, comm: Communicator.local)
                let one = try DistributedSampler(count: 37, batchSize: 12, worldSize: 1, seed: 4)
                try single.train(
                    ReplicatedSource(all, augmented: (augmentedValues, 2), sampler: one, rank: 0), sampler: one)
                let error = relativeDifference(
                    distributed.model.store.values.toArray(), single.model.store.values.toArray())
                print(
                    "sharded training (shortcut \(shortcut)) on \(comm.size) ranks vs one process: "
                        + "relative parameter difference \(error)")
                check(comm, error <= 1e-5, "parameters differ (shortcut \(shortcut)): \(error)")
            }
        }
    } catch {
        fail(comm, "\(error)")
    }
}

/// `Communicator.agree`: the odd ranks fail; every rank gets the same `RankFailures`, naming
/// exactly those ranks and their hosts; then a step where none fails returns every rank's value.
func agreement(_ comm: Communicator) {
    struct Odd: Error, CustomStringConvertible { let rank: Int; var description: String { "rank \(rank) is odd" } }
    do {
        _ = try comm.agree(partialNote: "a note") { if comm.rank % 2 == 1 { throw Odd(rank: comm.rank) } }
        check(comm, comm.size == 1, "agree returned although the odd ranks failed")
    } catch let failures as RankFailures {
        let odd = Array(stride(from: 1, to: comm.size, by: 2))
        check(comm, failures.failures.map(\.rank) == odd, "failed ranks \(failures.failures.map(\.rank)) != \(odd)")
        check(comm, failures.failures.allSatisfy { $0.host == HostName.current }, "hosts \(failures.failures)")
        check(comm, failures.failures.allSatisfy { $0.message == "rank \($0.rank) is odd" }, "\(failures)")
        check(comm, failures.description.contains("a note"), "the partial note is missing: \(failures)")
    } catch {
        fail(comm, "agree threw \(error) instead of RankFailures")
    }
    do {
        let value = try comm.agree { comm.rank * 10 }
        check(comm, value == comm.rank * 10, "agree returned \(value)")
    } catch {
        fail(comm, "agree threw \(error) with no failure")
    }
}

/// `CollectiveWatchdog`: the last rank arrives at a barrier 5 s late, the others' limit is
/// 1 s, so they exit with status 69 and a line naming the collective (the test checks).
func watchdog(_ comm: Communicator) {
    comm.watchdog = CollectiveWatchdog(limit: .seconds(1)) { [rank = comm.rank] operation, waited in
        "chain-testkit (rank \(rank)): \(operation) has waited \(waited.components.seconds) s"
    }
    if comm.rank == comm.size - 1 { sleep(5) }
    comm.barrier()
    fail(comm, "the barrier completed: the watchdog did not end the waiting ranks")
}

let comm = Communicator.world()
let scenario = CommandLine.arguments.dropFirst().first ?? "collectives"
switch scenario {
case "collectives": collectives(comm)
case "toy-equivalence": toyEquivalence(comm)
case "chain-equivalence": chainEquivalence(comm, mode: .chain)
case "conmh-equivalence": chainEquivalence(comm, mode: .conmh)
case "data-sources": dataSources(comm)
case "agreement": agreement(comm)
case "watchdog": watchdog(comm)
case "rank": print("rank \(comm.rank) of \(comm.size)")
default: fail(comm, "unknown scenario \(scenario)")
}
if comm.isRoot { print("PASS \(scenario) on \(comm.size) ranks") }
Communicator.finalize()
