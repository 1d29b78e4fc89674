import ArgumentParser
import CVision
import ChainExtraction
import ChainNumerics
import Foundation

/// The CNN of chain-extract alone: frames/s of an ONNX model through OpenCV's dnn on batches
/// of one clip's frames (random pixels; the speed does not depend on them).
struct FeatureNetworkBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnn", abstract: "Time an ONNX CNN on batches of frames (chain-extract's network).")
    @Option(help: "ONNX model (input N × 3 × size × size, output N × F).") var model: String
    @Option(help: "Input size in pixels.") var size = 224
    @Option(help: "Frames per forward pass (one clip).") var batch = 25
    @Option(help: "OpenCV threads.") var threads = 1
    @Option(help: "Timed passes.") var steps = 5
    @Option(help: "Untimed passes first.") var warmup = 2

    func run() throws {
        chain_vision_set_threads(Int32(threads))
        let network = try FeatureNetwork(path: model, probeSize: size)
        var random = Philox(seed: 1)
        let input = (0..<(batch * 3 * size * size)).map { _ in random.nextGaussian() }
        var times: [Double] = []
        for step in 0..<(warmup + steps) {
            let start = ContinuousClock.now
            _ = try network(input, batch: batch, size: size)
            let seconds = (ContinuousClock.now - start).seconds
            if step >= warmup { times.append(seconds) }
        }
        let median = times.sorted()[times.count / 2]
        print(
            String(
                format: "chain cnn %@ size %d batch %d threads %d: median %.3f s/pass, %.1f frames/s (F = %d)",
                (model as NSString).lastPathComponent, size, batch, threads, median, Double(batch) / median,
                network.featureSize))
    }
}
