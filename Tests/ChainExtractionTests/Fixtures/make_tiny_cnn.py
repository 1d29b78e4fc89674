"""Makes the tiny ONNX CNNs the extraction tests run, and what numpy says they compute.

    python3 make_tiny_cnn.py      # needs: pip install onnx numpy

tiny_cnn.onnx: Conv(3→4, 3×3, stride 2) → Clip(0, 6) with Constant bounds (PyTorch's ReLU6
at opset 17) → Conv(4→6, 3×3, its weight through an Identity, as PyTorch's exporter writes
shared weights) → Clip(max 6 from an initializer, no min) → x.mean(3).mean(2):
exactly the node forms OpenCV 4.6 misreads and CVision rewrites. tiny_cnn_pool23.onnx ends in
x.mean((2, 3)) instead. tiny_cnn_spatial.onnx stops before the pooling (output N × 6 × h × w:
not one row per image). tiny_cnn_expected.json: a fixed input and the numpy forward pass.
"""
import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)
w1 = rng.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32)
b1 = rng.normal(0, 0.1, 4).astype(np.float32)
w2 = rng.normal(0, 0.5, (6, 4, 3, 3)).astype(np.float32)
b2 = rng.normal(0, 0.1, 6).astype(np.float32)


def conv(x, w, b, stride):
    n, c, h, wd = x.shape
    k = w.shape[0]
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    oh, ow = (h + 2 - 3) // stride + 1, (wd + 2 - 3) // stride + 1
    out = np.zeros((n, k, oh, ow), np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = padded[:, :, i * stride:i * stride + 3, j * stride:j * stride + 3]
            out[:, :, i, j] = np.einsum("nchw,kchw->nk", patch, w) + b
    return out


def forward(x):
    h = np.clip(conv(x, w1, b1, 2), 0, 6)
    h = np.minimum(conv(h, w2, b2, 1), 6)
    return h


def model(tail, outputs, name):
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         strides=[2, 2]),
        helper.make_node("Constant", [], ["lo"], value=numpy_helper.from_array(np.array(0, np.float32))),
        helper.make_node("Constant", [], ["hi"], value=numpy_helper.from_array(np.array(6, np.float32))),
        helper.make_node("Clip", ["c1", "lo", "hi"], ["r1"]),
        helper.make_node("Identity", ["w2"], ["w2_alias"]),
        helper.make_node("Conv", ["r1", "w2_alias", "b2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["c2", "", "six"], ["r2"]),
    ] + tail
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        outputs,
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"),
         numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(b2, "b2"),
         numpy_helper.from_array(np.array(6, np.float32), "six")])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_tiny_cnn.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, name + ".onnx")


features = [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 6])]
model([helper.make_node("ReduceMean", ["r2"], ["m3"], axes=[3], keepdims=0),
       helper.make_node("ReduceMean", ["m3"], ["features"], axes=[2], keepdims=0)], features, "tiny_cnn")
model([helper.make_node("ReduceMean", ["r2"], ["features"], axes=[2, 3], keepdims=0)], features,
      "tiny_cnn_pool23")
model([helper.make_node("Identity", ["r2"], ["features"])],
      [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 6, "h", "w"])], "tiny_cnn_spatial")

x = rng.normal(0, 1, (2, 3, 16, 16)).astype(np.float32)
expected = forward(x.astype(np.float64)).mean(axis=(2, 3))
json.dump({"input_shape": list(x.shape), "input": x.ravel().tolist(), "features": expected.ravel().tolist()},
          open("tiny_cnn_expected.json", "w"))
print("features", expected.shape, expected[0])
