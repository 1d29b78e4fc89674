import ChainNN
import ChainNumerics
import Dispatch

/// One CHAIN training step on this rank's videos: builds two augmented views, runs the
/// contrastive, frame-order and scene-change objectives over the global batch, and
/// accumulates the gradient of the weighted total into the model's flat gradient buffer.
///
/// The caller zeroes gradients before, and after: all-reduces them (sum — every loss term
/// here is already normalised by its global count) and takes the optimizer step. Buffers
/// are allocated once for `maxBatch` videos and reused.
public final class CHAINTrainingStep: @unchecked Sendable {
    public let model: CHAINModel
    public let maxBatch: Int
    /// Threads each pass is split over (by videos; BLAS should then run one thread per call).
    public let workers: Int
    /// When set, the step adds the time of each phase to it.
    public var profile: StepProfile?

    /// Losses of one step: each term is this rank's share of the global mean (sum over
    /// ranks for the global value); `total` is the weighted sum.
    public struct Losses: Sendable {
        public var contrastive = 0.0
        public var order = 0.0
        public var scene = 0.0
        public var total = 0.0
        /// Local frames whose position the order head got right, and frames asked.
        public var orderCorrect = 0
        public var orderFrames = 0
        /// Scenes found in this rank's videos (all scene-regularised views), and videos
        /// for which affinity propagation found none.
        public var scenes = 0
        public var videosWithoutScenes = 0
        /// This rank's share of the reconstruction MSE (ConMH mode, or chain mode with γ > 0).
        public var reconstruction = 0.0
        public init() {}
    }

    /// Buffers of one view pass.
    final class ViewPass {
        let features: Tensor
        var positions: [Int32]
        let encoder: TransformerEncoder.Activations
        let hash: HashLayer.Activations
        let codes: Tensor, dCodes: Tensor, dNormalized: Tensor, dHidden: Tensor
        /// `orderOnly`: the order pass, which reads view 1's projection and has no codes, so
        /// it holds no features or hash buffers.
        init(_ model: CHAINModel, maxBatch: Int, workers: Int, orderOnly: Bool = false) {
            let c = model.config, l = c.views.viewLength, rows = maxBatch * l, own = orderOnly ? 0 : rows
            features = Tensor(shape: [own, c.encoder.inputSize])
            positions = [Int32](repeating: 0, count: rows)
            encoder = TransformerEncoder.Activations(model.encoder, maxBatch: maxBatch, seqLen: l, workers: workers)
            hash = HashLayer.Activations(model.hash, maxRows: own)
            codes = Tensor(shape: [own, c.bits])
            dCodes = Tensor(shape: [own, c.bits])
            dNormalized = Tensor(shape: [own, c.bits])
            dHidden = Tensor(shape: [rows, c.encoder.modelSize])
        }
    }

    let views: [ViewPass]
    let orderPass: ViewPass
    /// The order pass shuffles view 1's frames, so view 1 is projected once for both passes:
    /// its projection, the order pass's permuted copy, and their gradients.
    let projected: Tensor, orderEmbedded: Tensor, dProjected: Tensor, dOrderEmbedded: Tensor
    let logits: Tensor, dLogits: Tensor, compactLogits: Tensor
    let conmh: [ConMHPass]
    /// Chain mode with reconstruction: one per view, allocated for the frame count in use.
    var reconstruction: [ViewReconstruction] = []

    public init(model: CHAINModel, maxBatch: Int, workers: Int = 1) {
        self.model = model
        self.maxBatch = maxBatch
        self.workers = max(1, workers)
        views = [ViewPass(model, maxBatch: maxBatch, workers: workers), ViewPass(model, maxBatch: maxBatch, workers: workers)]
        orderPass = ViewPass(model, maxBatch: maxBatch, workers: workers, orderOnly: true)
        let rows = maxBatch * model.config.views.viewLength
        let sharedRows = model.config.usesOrder ? rows : 0, d = model.config.encoder.modelSize
        projected = Tensor(shape: [sharedRows, d])
        orderEmbedded = Tensor(shape: [sharedRows, d])
        dProjected = Tensor(shape: [sharedRows, d])
        dOrderEmbedded = Tensor(shape: [sharedRows, d])
        logits = Tensor(shape: [rows, model.config.encoder.maxPositions])
        dLogits = Tensor(shape: [rows, model.config.encoder.maxPositions])
        compactLogits = Tensor(shape: [rows, model.config.views.viewLength])
        conmh = model.config.mode == .conmh ? [ConMHPass(model, maxBatch: maxBatch), ConMHPass(model, maxBatch: maxBatch)] : []
    }

    /// Runs `body`, timed under `phase` when profiling.
    func timed<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        if let profile { return try profile.measure(phase, body) }
        return try body()
    }

    /// Copies the picked frames of one video into a view (from one random augmented copy when
    /// there are copies, else from the clean features followed by the feature-space transform).
    func fillView(_ out: UnsafeMutablePointer<Float>, video v: Int, picked: [Int], videos: UnsafePointer<Float>, frames: Int,
                  featureStd: UnsafePointer<Float>?, augmented: AugmentedCopies?, rng: inout Philox) {
        let f = model.config.encoder.inputSize
        let source: UnsafePointer<Float>
        if let augmented {
            let copy = rng.nextInt(below: augmented.copies)
            source = augmented.features + (v * augmented.copies + copy) * frames * f
        } else {
            source = videos + v * frames * f
        }
        for (i, t) in picked.enumerated() { (out + i * f).update(from: source + t * f, count: f) }
        if augmented == nil {
            model.config.augmentation.apply(out, frames: picked.count, featureSize: f, featureStd: featureStd, rng: &rng)
        }
    }

    /// The contrastive term over two views whose frame codes are [batch·framesPerVideo, bits]:
    /// gathers the video codes (mean of frame codes) of the global batch, computes this rank's
    /// anchors' share, sends the candidates' gradient back to their owners and spreads each
    /// video's gradient over its frames (× contrastiveWeight) into the views' dCodes.
    func contrastiveTerm(_ views: [(codes: UnsafeMutablePointer<Float>, dCodes: UnsafeMutablePointer<Float>)], batch: Int,
                         framesPerVideo l: Int, exchange: BatchExchange) -> Double {
        let c = model.config, bits = c.bits
        let local = Tensor(shape: [2 * batch, bits])
        for (viewIndex, pass) in views.enumerated() {
            for v in 0..<batch {
                let out = local.pointer + (viewIndex * batch + v) * bits
                for i in 0..<l { VectorMath.add(pass.codes + (v * l + i) * bits, into: out, count: bits) }
                VectorMath.scale(out, by: 1 / Float(l), count: bits)
            }
        }
        let world = exchange.worldSize, block = 2 * batch
        let global = Tensor(shape: [world * block, bits]), dGlobal = Tensor(shape: [world * block, bits])
        exchange.allGather(UnsafeBufferPointer(local.buffer), into: global.buffer)
        var positives = [Int](repeating: 0, count: world * block)
        for r in 0..<world {
            for j in 0..<batch { positives[r * block + j] = r * block + batch + j; positives[r * block + batch + j] = r * block + j }
        }
        let share = c.contrastive.lossAndGradient(
            codes: global.pointer, rows: world * block, dim: bits, positives: positives,
            anchors: (exchange.rank * block)..<((exchange.rank + 1) * block), totalAnchors: world * block,
            dCodes: dGlobal.pointer)
        let dLocal = Tensor(shape: [block, bits])
        exchange.reduceScatter(UnsafeBufferPointer(dGlobal.buffer), into: dLocal.buffer)
        let perFrame = c.contrastiveWeight / Float(l)
        for (viewIndex, pass) in views.enumerated() {
            for v in 0..<batch {
                let g = dLocal.pointer + (viewIndex * batch + v) * bits
                for i in 0..<l {
                    let out = pass.dCodes + (v * l + i) * bits
                    for b in 0..<bits { out[b] += perFrame * g[b] }
                }
            }
        }
        return share
    }

    /// The input features of view 0 or 1 from the last run (first `rows` floats).
    public func viewFeatures(view: Int, rows: Int) -> [Float] { Array(UnsafeBufferPointer(start: views[view].features.pointer, count: rows)) }

    /// The hash layer's activations h of view 0 or 1 from the last run, [batch·L, bits]
    /// (what scene segmentation clusters).
    public func hashActivations(view: Int) -> UnsafePointer<Float> { UnsafePointer(views[view].hash.normalized.pointer) }

    /// Pre-extracted spatially augmented copies of the batch: [batch, copies, frames, F],
    /// each copy made with one crop/flip/colour setting for all of a video's frames.
    public struct AugmentedCopies {
        public var features: UnsafePointer<Float>
        public var copies: Int
        public init(features: UnsafePointer<Float>, copies: Int) {
            precondition(copies >= 1, "augmented copies need at least one copy")
            self.features = features
            self.copies = copies
        }
    }

    /// Runs the step on `batch` videos of `frames` frames: videos [batch·frames, F].
    /// Spatial augmentation: with `augmented`, each view reads all its frames from one random
    /// copy; otherwise the feature-space transform, whose noise `featureStd` scales (nil: 1).
    /// `scenes` may replace the affinity-propagation segmentation of each view pass (tests
    /// freeze it with this).
    ///
    /// Randomness: each video's views, transforms and order permutation come from its own
    /// stream `videoRandom.split(videoIDs[v])` (defaults: a parent drawn from `rng`, so each
    /// call differs, and ids 0..<batch). With a
    /// rank-independent `videoRandom` and global video ids, the data a video sees does not
    /// depend on how the batch is split over ranks. Dropout draws from `rng`.
    @discardableResult
    public func run(videos: UnsafePointer<Float>, batch: Int, frames: Int, featureStd: UnsafePointer<Float>? = nil,
                    augmented: AugmentedCopies? = nil, rng: inout Philox, videoRandom: Philox? = nil,
                    videoIDs: [UInt64]? = nil, exchange: BatchExchange,
                    scenes override: ((_ view: Int) -> SceneSegmentation.Scenes)? = nil) -> Losses {
        let ids = videoIDs ?? (0..<batch).map(UInt64.init)
        precondition(ids.count == batch, "\(ids.count) video ids for a batch of \(batch)")
        let parent = videoRandom ?? Philox(seed: rng.next(), stream: rng.next())
        var videoStreams = ids.map { parent.split($0) }
        if model.config.mode == .conmh {
            return runConMH(videos: videos, batch: batch, frames: frames, featureStd: featureStd, augmented: augmented,
                            rng: &rng, streams: &videoStreams, exchange: exchange)
        }
        let c = model.config, l = c.views.viewLength, f = c.encoder.inputSize, bits = c.bits
        precondition(batch >= 1 && batch <= maxBatch, "batch \(batch) outside 1...\(maxBatch)")
        precondition(frames <= c.encoder.maxPositions, "videos of \(frames) frames exceed maxPositions \(c.encoder.maxPositions)")
        let rows = batch * l
        var losses = Losses()

        // 1. Two views per video: segment sampling, then one spatial transform per view.
        //    Each video draws from its own stream (view 1, then view 2), so the videos are
        //    split over the workers without changing any draw.
        timed("views") {
            views[0].positions.withUnsafeMutableBufferPointer { first in
                views[1].positions.withUnsafeMutableBufferPointer { second in
                    videoStreams.withUnsafeMutableBufferPointer { streams in
                        let positions = [first.baseAddress!, second.baseAddress!]
                        let parts = min(workers, batch)
                        Parallel.forEach(parts) { w in
                            for v in Parallel.share(w, of: parts, total: batch) {
                                for (index, pass) in views.enumerated() {
                                    let picked = c.views.sample(frames: frames, rng: &streams[v])
                                    fillView(pass.features.pointer + v * l * f, video: v, picked: picked, videos: videos,
                                             frames: frames, featureStd: featureStd, augmented: augmented, rng: &streams[v])
                                    for (i, t) in picked.enumerated() { positions[index][v * l + i] = Int32(t) }
                                }
                            }
                        }
                    }
                }
            }
        }

        // 2. Forward both views to frame codes (view 1 from its projection, kept for the order pass).
        let sharesProjection = c.usesOrder
        timed("encoder forward") {
            for (index, pass) in views.enumerated() {
                let hidden = pass.positions.withUnsafeBufferPointer { positions in
                    if index == 0 && sharesProjection {
                        model.encoder.projection.forward(pass.features.pointer, projected.pointer, rows: rows, model.store,
                                                         workers: workers)
                        return model.encoder.forward(embedded: projected.pointer, positions: positions.baseAddress!, batch: batch,
                                                     pass.encoder, model.store, rng: &rng, training: true)
                    }
                    return model.encoder.forward(pass.features.pointer, positions: positions.baseAddress!, batch: batch,
                                                 pass.encoder, model.store, rng: &rng, training: true)
                }
                model.hash.forward(hidden, pass.codes.pointer, rows: rows, pass.hash, model.store, activation: c.hashActivation)
                pass.dCodes.buffer.update(repeating: 0)
                pass.dNormalized.buffer.update(repeating: 0)
            }
        }
        if sharesProjection { dProjected.fill(0) }

        // 3. Contrastive: video code = mean of frame codes; candidates = both views of the global batch.
        if c.usesContrastive {
            losses.contrastive = timed("contrastive") {
                contrastiveTerm(views.map { ($0.codes.pointer, $0.dCodes.pointer) }, batch: batch, framesPerVideo: l,
                                exchange: exchange)
            }
        }

        // 4. Scene-change regularisation: frames against the scene prototypes of the global batch.
        if c.usesScene {
            let regularised = c.sceneOnBothViews ? [0, 1] : [0]
            var prototypes: [Float] = [], targets: [[Int32]] = []
            var localCount = 0
            for viewIndex in regularised {
                let pass = views[viewIndex]
                let s = override?(viewIndex) ?? timed("affinity propagation") {
                    c.scenes.segment(pass.hash.normalized.pointer, videos: batch, frames: l, dim: bits, workers: workers)
                }
                prototypes += s.prototypes
                targets.append(s.assignment.map { $0 < 0 ? -1 : $0 + Int32(localCount) })
                localCount += s.count
                losses.scenes += s.count
                losses.videosWithoutScenes += s.scenesPerVideo.filter { $0 == 0 }.count
            }
            let sceneStart = DispatchTime.now().uptimeNanoseconds
            defer { profile?.add("scene loss", Double(DispatchTime.now().uptimeNanoseconds - sceneStart) * 1e-9) }
            let counts = exchange.allGatherCounts(localCount)
            let offset = Int32(counts[..<exchange.rank].reduce(0, +))
            let globalCount = counts.reduce(0, +)
            let validLocal = targets.reduce(0) { $0 + $1.filter { $0 >= 0 }.count }
            let totalAnchors = exchange.allGatherCounts(validLocal).reduce(0, +)
            if globalCount > 0 && totalAnchors > 0 {
                var globalPrototypes = [Float](repeating: 0, count: globalCount * bits)
                prototypes.withUnsafeBufferPointer { p in
                    globalPrototypes.withUnsafeMutableBufferPointer {
                        exchange.allGather(p, counts: counts.map { $0 * bits }, into: $0)
                    }
                }
                for (k, viewIndex) in regularised.enumerated() {
                    let pass = views[viewIndex]
                    let shifted = targets[k].map { $0 < 0 ? -1 : $0 + offset }
                    losses.scene += globalPrototypes.withUnsafeBufferPointer {
                        c.scene.lossAndGradient(anchors: pass.hash.normalized.pointer, rows: rows, dim: bits,
                                                prototypes: $0.baseAddress!, count: globalCount, targets: shifted,
                                                totalAnchors: totalAnchors, dAnchors: pass.dNormalized.pointer)
                    }
                    VectorMath.scale(pass.dNormalized.pointer, by: c.sceneWeight, count: rows * bits)
                }
            }
        }

        // 4b. Reconstruction of the frames each view did not sample, from its frame codes.
        if c.usesReconstruction {
            losses.reconstruction = timed("reconstruction") {
                reconstructionTerm(videos: videos, batch: batch, frames: frames, exchange: exchange)
            }
        }

        // 5. Backward through both view passes.
        if c.usesContrastive || c.usesScene || c.usesReconstruction {
            timed("encoder backward") {
                for (index, pass) in views.enumerated() {
                    let hidden = pass.encoder.output.pointer
                    model.hash.backward(hidden, pass.dCodes.pointer, pass.dHidden.pointer, rows: rows, pass.hash, model.store,
                                        dNormalized: pass.dNormalized.pointer)
                    pass.positions.withUnsafeBufferPointer {
                        if index == 0 && sharesProjection {
                            model.encoder.backward(dEmbedded: dProjected.pointer, positions: $0.baseAddress!,
                                                   dOutput: pass.dHidden.pointer, pass.encoder, model.store)
                        } else {
                            model.encoder.backward(pass.features.pointer, positions: $0.baseAddress!,
                                                   dOutput: pass.dHidden.pointer, pass.encoder, model.store)
                        }
                    }
                }
            }
        }

        // 6. Frame-order verification: view 1 shuffled, positions follow the slot; predict
        //    each slot's original position among the view's L frames.
        if c.usesOrder {
          timed("order pass") {
            let view = views[0], pass = orderPass, tMax = c.encoder.maxPositions, d = c.encoder.modelSize
            var targets = [Int32](repeating: 0, count: rows)
            var sourceRow = [Int](repeating: 0, count: rows)
            for v in 0..<batch {
                let permutation = videoStreams[v].permutation(l)
                for s in 0..<l {
                    sourceRow[v * l + s] = v * l + permutation[s]
                    (orderEmbedded.pointer + (v * l + s) * d).update(from: projected.pointer + sourceRow[v * l + s] * d, count: d)
                    pass.positions[v * l + s] = Int32(s)
                    targets[v * l + s] = Int32(permutation[s])
                }
            }
            let hidden = pass.positions.withUnsafeBufferPointer {
                model.encoder.forward(embedded: orderEmbedded.pointer, positions: $0.baseAddress!, batch: batch, pass.encoder,
                                      model.store, rng: &rng, training: true)
            }
            model.orderHead.forward(hidden, logits.pointer, rows: rows, model.store)
            for r in 0..<rows { (compactLogits.pointer + r * l).update(from: logits.pointer + r * tMax, count: l) }
            let totalRows = exchange.allGatherCounts(rows).reduce(0, +)
            let share = Float(rows) / Float(totalRows)
            let (loss, correct) = targets.withUnsafeBufferPointer {
                SoftmaxCrossEntropy.lossAndGradient(logits: compactLogits.pointer, targets: $0.baseAddress!, rows: rows,
                                                    classes: l, dLogits: compactLogits.pointer, weight: c.orderWeight * share)
            }
            losses.order = loss * Double(share)
            losses.orderCorrect = correct
            losses.orderFrames = rows
            dLogits.buffer.update(repeating: 0)
            for r in 0..<rows { (dLogits.pointer + r * tMax).update(from: compactLogits.pointer + r * l, count: l) }
            model.orderHead.backward(hidden, dLogits.pointer, pass.dHidden.pointer, rows: rows, model.store)
            pass.positions.withUnsafeBufferPointer {
                model.encoder.backward(dEmbedded: dOrderEmbedded.pointer, positions: $0.baseAddress!,
                                       dOutput: pass.dHidden.pointer, pass.encoder, model.store)
            }
            // Both passes' gradients reach the shared projection in one weight-gradient product.
            for r in 0..<rows { VectorMath.add(dOrderEmbedded.pointer + r * d, into: dProjected.pointer + sourceRow[r] * d, count: d) }
            model.encoder.projection.backwardParameters(view.features.pointer, dProjected.pointer, rows: rows, model.store,
                                                        workers: workers)
          }
        }

        losses.total = Double(c.contrastiveWeight) * losses.contrastive + Double(c.orderWeight) * losses.order
            + Double(c.sceneWeight) * losses.scene + Double(c.reconstructionWeight) * losses.reconstruction
        return losses
    }
}
