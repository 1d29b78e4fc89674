#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/videoio/registry.hpp>

#include <cstring>

#include "vision_internal.h"

int chain_vision::fail(char *error, size_t error_size, const std::string &message) {
    if (error != nullptr && error_size > 0) {
        size_t n = std::min(message.size(), error_size - 1);
        std::memcpy(error, message.data(), n);
        error[n] = 0;
    }
    return -1;
}

extern "C" void chain_vision_set_threads(int threads) { cv::setNumThreads(threads > 0 ? threads : -1); }

extern "C" const char *chain_vision_build_summary(void) {
    static std::string summary = [] {
        bool ffmpeg = false;
        for (auto backend : cv::videoio_registry::getStreamBackends()) ffmpeg |= backend == cv::CAP_FFMPEG;
        return std::string("OpenCV ") + CV_VERSION + (ffmpeg ? ", videoio on FFmpeg" : ", videoio WITHOUT FFmpeg");
    }();
    return summary.c_str();
}
