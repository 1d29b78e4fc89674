// An ONNX CNN run by OpenCV's dnn module (chain_network_*).
#include <opencv2/dnn.hpp>

#include <fstream>
#include <sstream>

#include "vision_internal.h"

struct chain_network {
    cv::dnn::Net net;
};

extern "C" int chain_network_load(
    const char *onnx_path, chain_network **network, int *rewrites, char *error, size_t error_size) {
    using chain_vision::fail;
    *network = nullptr;
    std::ifstream file(onnx_path, std::ios::binary);
    if (!file) return fail(error, error_size, "cannot read the file");
    std::stringstream bytes;
    bytes << file.rdbuf();
    try {
        int changed = 0;
        std::string legal = chain_vision::legalize_onnx_for_opencv(bytes.str(), &changed);
        auto result = std::make_unique<chain_network>();
        result->net = cv::dnn::readNetFromONNX(legal.data(), legal.size());
        if (result->net.empty()) return fail(error, error_size, "OpenCV read no layers from the model");
        result->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        result->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        if (rewrites != nullptr) *rewrites = changed;
        *network = result.release();
        return 0;
    } catch (const std::exception &e) {
        return fail(error, error_size, std::string("not a model OpenCV's dnn can run: ") + e.what());
    }
}

extern "C" void chain_network_free(chain_network *network) { delete network; }

extern "C" int chain_network_forward(
    chain_network *network, const float *input, int batch, int channels, int height, int width, float *output,
    size_t output_capacity, int64_t *features, char *error, size_t error_size) {
    using chain_vision::fail;
    try {
        int dims[4] = {batch, channels, height, width};
        cv::Mat blob(4, dims, CV_32F, const_cast<float *>(input));
        network->net.setInput(blob);
        cv::Mat out = network->net.forward();
        std::string shape;
        for (int d = 0; d < out.dims; d++) shape += (d ? " x " : "") + std::to_string(out.size[d]);
        bool rows = out.dims >= 2 && out.size[0] == batch;
        for (int d = 2; d < out.dims; d++) rows = rows && out.size[d] == 1;
        if (!rows || out.type() != CV_32F)
            return fail(
                error, error_size,
                "the model's output is " + shape + ", not " + std::to_string(batch) +
                    " x F (one float32 feature row per image)");
        size_t total = out.total();
        if (total > output_capacity)
            return fail(error, error_size, "output of " + std::to_string(total) + " floats exceeds the buffer");
        if (!out.isContinuous()) out = out.clone();
        std::copy(out.ptr<float>(), out.ptr<float>() + total, output);
        *features = static_cast<int64_t>(total / batch);
        return 0;
    } catch (const std::exception &e) {
        return fail(error, error_size, std::string("forward pass failed: ") + e.what());
    }
}
