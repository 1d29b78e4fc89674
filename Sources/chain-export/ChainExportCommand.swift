import ArgumentParser
import ChainCLI
import ChainData
import ChainDistributed
import ChainExport
import ChainTraining
import Foundation
import SwiftProtobuf

/// `chain-export`: a trained checkpoint's hash function (encoder and hash layer) as an ONNX model.
@main
struct ChainExportCommand: ChainTool {
    static let configuration = CommandConfiguration(
        commandName: "chain-export",
        abstract: "Export a trained checkpoint's hash function as an ONNX model.",
        discussion: """
            The model maps frame features to video codes exactly as chain-encode does, in standard operators of \
            ONNX opset \(ONNXFormat.opset) (IR version \(ONNXFormat.irVersion)), so onnxruntime (Python, C++, …) \
            computes the same codes:
              input   features  float32 (videos, frames, F)
              output  code      float32 (videos, bits)      the real-valued code (chain-encode --values)
              output  packed    uint8   (videos, bits/8)    the packed bits (a code file's `codes`)
            frames may be any count from evaluation.views up to the model's positions (metadata max_positions). \
            The evaluation settings stored in the checkpoint (evaluation.views, evaluation.pooling) are built in. \
            See docs/evaluation.md, "Exported models".

            Example:
              chain-export --checkpoint runs/mmnist/checkpoints/checkpoint-000100.h5 --onnx mmnist-64.onnx
            """)

    @Option(help: "Checkpoint (runs/<name>/checkpoints/checkpoint-*.h5).") var checkpoint: String
    @Option(help: "Output ONNX file; written atomically.") var onnx: String

    func run() throws {
        let comm = Communicator.world()
        defer { Communicator.finalize() }
        do {
            let (encoder, run) = try TrainedModel.load(checkpoint: checkpoint, comm: comm)
            guard comm.isRoot else { return }
            let model = encoder.model.onnxModel(
                views: encoder.views, pooling: encoder.pooling,
                metadata: ["checkpoint": checkpoint, "mode": run.model.mode.rawValue])
            let bytes: Data = try model.serializedBytes()
            do { try bytes.write(to: URL(fileURLWithPath: onnx), options: .atomic) } catch {
                throw DataError("\(onnx): cannot write the model (\((error as NSError).localizedDescription))")
            }
            let c = encoder.model.config
            print(
                "\(onnx): ONNX opset \(ONNXFormat.opset), features (videos, frames, \(c.encoder.inputSize)) → "
                    + "code (videos, \(c.bits)) float32 and packed (videos, \((c.bits + 7) / 8)) uint8; "
                    + "\(model.graph.node.count) nodes, " + String(format: "%.1f MB", Double(bytes.count) / 1e6))
        } catch {
            throw toolFailure("chain-export", error, comm: comm)
        }
    }
}
