// Rewrites of ONNX graphs that OpenCV 4.6's importer (Debian bookworm) reads wrongly.
//
// 1. Clip with its bounds as inputs (opset ≥ 11; PyTorch's ReLU6): OpenCV accepts only the
//    opset-6 form with `min`/`max` attributes and stops with "node_proto.input_size() == 1".
//    Constant bounds (initializers or Constant nodes) become attributes.
// 2. ReduceMean over axes 2 and 3 of NCHW with keepdims = 0 (x.mean(3).mean(2) or
//    x.mean((2, 3)), a common global pool): OpenCV 4.6 returns NaN. It becomes
//    GlobalAveragePool + Flatten(axis = 1), the same values.
// 3. Identity nodes (PyTorch's exporter puts them on shared or folded weights): OpenCV 4.6
//    fails on an Identity of an initializer ("inputs.size() in getMemoryShapes"). Readers of
//    an Identity's output read its input instead, and the node goes (unless its output is a
//    graph output).
// Anything else passes through untouched; OpenCV's own errors name what it cannot read.
#include <onnx/onnx_pb.h>

#include <cstring>
#include <map>
#include <set>
#include <stdexcept>

#include "vision_internal.h"

namespace {
using onnx::NodeProto;
using onnx::TensorProto;

/// Appends a tensor's values of element type T: from its raw little-endian bytes, or from its
/// typed field (`float_data`, `int64_data`).
template <typename T, typename Field>
void append_values(const TensorProto &tensor, const Field &typed, std::vector<double> &values) {
    const std::string &raw = tensor.raw_data();
    if (raw.empty()) {
        for (T v : typed) values.push_back(static_cast<double>(v));
        return;
    }
    for (size_t i = 0; i + sizeof(T) <= raw.size(); i += sizeof(T)) {
        T v;
        std::memcpy(&v, raw.data() + i, sizeof(T));
        values.push_back(static_cast<double>(v));
    }
}

/// The values of a constant tensor, as doubles (float and int64 tensors only).
bool tensor_values(const TensorProto &tensor, std::vector<double> &values) {
    values.clear();
    if (tensor.data_type() == TensorProto::FLOAT) {
        append_values<float>(tensor, tensor.float_data(), values);
        return true;
    }
    if (tensor.data_type() == TensorProto::INT64) {
        append_values<int64_t>(tensor, tensor.int64_data(), values);
        return true;
    }
    return false;
}

/// Constant tensors of the graph by name: initializers and Constant nodes' outputs.
std::map<std::string, const TensorProto *> constants_of(const onnx::GraphProto &graph) {
    std::map<std::string, const TensorProto *> constants;
    for (const auto &initializer : graph.initializer()) constants[initializer.name()] = &initializer;
    for (const auto &node : graph.node()) {
        if (node.op_type() != "Constant" || node.output_size() != 1) continue;
        for (const auto &attribute : node.attribute())
            if (attribute.name() == "value" && attribute.has_t()) constants[node.output(0)] = &attribute.t();
    }
    return constants;
}

bool scalar_of(const std::map<std::string, const TensorProto *> &constants, const std::string &name, double &value) {
    auto found = constants.find(name);
    std::vector<double> values;
    if (found == constants.end() || !tensor_values(*found->second, values) || values.size() != 1) return false;
    value = values[0];
    return true;
}

/// Clip(x, min, max) with constant bounds → Clip(x) with attributes.
bool rewrite_clip(NodeProto &node, const std::map<std::string, const TensorProto *> &constants) {
    if (node.op_type() != "Clip" || node.input_size() <= 1) return false;
    double bounds[2];
    bool present[2] = {false, false};
    for (int i = 1; i < node.input_size() && i <= 2; i++) {
        if (node.input(i).empty()) continue;
        if (!scalar_of(constants, node.input(i), bounds[i - 1])) return false;  // not constant: leave it
        present[i - 1] = true;
    }
    std::string x = node.input(0);
    node.clear_input();
    node.add_input(x);
    const char *names[2] = {"min", "max"};
    for (int i = 0; i < 2; i++) {
        if (!present[i]) continue;
        auto *attribute = node.add_attribute();
        attribute->set_name(names[i]);
        attribute->set_type(onnx::AttributeProto::FLOAT);
        attribute->set_f(static_cast<float>(bounds[i]));
    }
    return true;
}

/// The axes and keepdims of a ReduceMean (axes as attribute, or as input in opset 18).
bool reduce_mean_of(
    const NodeProto &node, const std::map<std::string, const TensorProto *> &constants, std::set<int64_t> &axes,
    bool &keepdims) {
    if (node.op_type() != "ReduceMean") return false;
    axes.clear();
    keepdims = true;
    for (const auto &attribute : node.attribute()) {
        if (attribute.name() == "keepdims") keepdims = attribute.i() != 0;
        if (attribute.name() == "axes")
            for (int64_t a : attribute.ints()) axes.insert(a < 0 ? a + 4 : a);  // NCHW: rank 4
    }
    if (node.input_size() > 1 && !node.input(1).empty()) {
        auto found = constants.find(node.input(1));
        std::vector<double> values;
        if (found == constants.end() || !tensor_values(*found->second, values)) return false;
        for (double a : values) axes.insert(a < 0 ? static_cast<int64_t>(a) + 4 : static_cast<int64_t>(a));
    }
    return true;
}

/// Bypasses Identity nodes (see 3. above); returns how many were removed.
int remove_identities(onnx::GraphProto &graph) {
    std::set<std::string> graph_outputs;
    for (const auto &output : graph.output()) graph_outputs.insert(output.name());
    std::map<std::string, std::string> alias;  // Identity output → its (resolved) input
    for (const auto &node : graph.node()) {
        if (node.op_type() != "Identity" || node.input_size() != 1 || node.output_size() != 1) continue;
        if (graph_outputs.count(node.output(0))) continue;
        std::string source = node.input(0);
        while (alias.count(source)) source = alias[source];
        alias[node.output(0)] = source;
    }
    if (alias.empty()) return 0;
    std::vector<NodeProto> kept;
    for (const auto &node : graph.node()) {
        if (node.op_type() == "Identity" && node.output_size() == 1 && alias.count(node.output(0))) continue;
        NodeProto copy = node;
        for (int i = 0; i < copy.input_size(); i++) {
            auto found = alias.find(copy.input(i));
            if (found != alias.end()) copy.set_input(i, found->second);
        }
        kept.push_back(copy);
    }
    graph.clear_node();
    for (auto &node : kept) *graph.add_node() = node;
    return static_cast<int>(alias.size());
}

NodeProto global_pool(const std::string &input, const std::string &output, const std::string &name) {
    NodeProto pool;
    pool.set_op_type("GlobalAveragePool");
    pool.set_name(name + "/chain_global_pool");
    pool.add_input(input);
    pool.add_output(output + "/chain_pooled");
    return pool;
}

NodeProto flatten(const std::string &input, const std::string &output, const std::string &name) {
    NodeProto node;
    node.set_op_type("Flatten");
    node.set_name(name + "/chain_flatten");
    node.add_input(input);
    node.add_output(output);
    auto *axis = node.add_attribute();
    axis->set_name("axis");
    axis->set_type(onnx::AttributeProto::INT);
    axis->set_i(1);
    return node;
}
}  // namespace

std::string chain_vision::legalize_onnx_for_opencv(const std::string &model_bytes, int *rewrites) {
    onnx::ModelProto model;
    if (!model.ParseFromString(model_bytes)) throw std::runtime_error("not an ONNX model (protobuf parse failed)");
    auto *graph = model.mutable_graph();
    auto constants = constants_of(*graph);
    int changed = 0;
    for (auto &node : *graph->mutable_node()) changed += rewrite_clip(node, constants) ? 1 : 0;
    changed += remove_identities(*graph);

    // How many nodes read each value (a pooled pair must be the only reader of its middle).
    std::map<std::string, int> readers;
    for (const auto &node : graph->node())
        for (const auto &input : node.input()) readers[input] += 1;
    for (const auto &output : graph->output()) readers[output.name()] += 1;

    std::vector<NodeProto> nodes(graph->node().begin(), graph->node().end());
    std::vector<NodeProto> rewritten;
    for (size_t i = 0; i < nodes.size(); i++) {
        std::set<int64_t> axes;
        bool keepdims;
        if (reduce_mean_of(nodes[i], constants, axes, keepdims) && !keepdims) {
            const std::string name = nodes[i].name(), input = nodes[i].input(0);
            if (axes == std::set<int64_t>{2, 3}) {  // x.mean((2, 3))
                rewritten.push_back(global_pool(input, nodes[i].output(0), name));
                rewritten.push_back(flatten(rewritten.back().output(0), nodes[i].output(0), name));
                changed += 1;
                continue;
            }
            // x.mean(3).mean(2): the next node reduces axis 2 of this node's output, its only reader.
            std::set<int64_t> next_axes;
            bool next_keepdims;
            if (axes == std::set<int64_t>{3} && i + 1 < nodes.size() &&
                reduce_mean_of(nodes[i + 1], constants, next_axes, next_keepdims) && !next_keepdims &&
                next_axes == std::set<int64_t>{2} && nodes[i + 1].input(0) == nodes[i].output(0) &&
                readers[nodes[i].output(0)] == 1) {
                rewritten.push_back(global_pool(input, nodes[i + 1].output(0), name));
                rewritten.push_back(flatten(rewritten.back().output(0), nodes[i + 1].output(0), name));
                changed += 2;
                i += 1;
                continue;
            }
        }
        rewritten.push_back(nodes[i]);
    }
    graph->clear_node();
    for (auto &node : rewritten) *graph->add_node() = node;
    if (rewrites != nullptr) *rewrites = changed;
    std::string bytes;
    if (!model.SerializeToString(&bytes)) throw std::runtime_error("could not serialize the rewritten model");
    return bytes;
}
