// Shared by CVision's .cpp files (not part of its C interface).
#ifndef CHAIN_VISION_INTERNAL_H
#define CHAIN_VISION_INTERNAL_H

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "chain_vision.h"

struct chain_clip {
    std::vector<cv::Mat> frames;  // CV_8UC3, RGB
};

namespace chain_vision {
/// Copies `message` into the caller's buffer (truncated, always terminated); returns -1.
int fail(char *error, size_t error_size, const std::string &message);
/// Rewrites an ONNX model (serialized bytes) so that OpenCV 4.6's importer reads it right.
/// Returns the rewritten bytes; `rewrites` counts the nodes changed. Throws std::runtime_error.
std::string legalize_onnx_for_opencv(const std::string &model_bytes, int *rewrites);
}  // namespace chain_vision

#endif
