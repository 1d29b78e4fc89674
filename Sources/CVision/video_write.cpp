// Writing frames as a video file (chain_video_write), for tests and examples.
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <cstring>

#include "vision_internal.h"

extern "C" int chain_video_write(
    const char *path, const char *codec, double frames_per_second, const uint8_t *frames, int count, int width,
    int height, int channels, char *error, size_t error_size) {
    using chain_vision::fail;
    if (std::strlen(codec) != 4) return fail(error, error_size, std::string("codec must be a FourCC: ") + codec);
    if (channels != 1 && channels != 3) return fail(error, error_size, "channels must be 1 or 3");
    try {
        int fourcc = cv::VideoWriter::fourcc(codec[0], codec[1], codec[2], codec[3]);
        cv::VideoWriter writer(path, cv::CAP_FFMPEG, fourcc, frames_per_second, cv::Size(width, height), channels == 3);
        if (!writer.isOpened())
            return fail(error, error_size, std::string("cannot write ") + path + " with codec " + codec);
        size_t frame_bytes = static_cast<size_t>(width) * height * channels;
        for (int f = 0; f < count; f++) {
            uint8_t *bytes = const_cast<uint8_t *>(frames) + f * frame_bytes;
            cv::Mat frame(height, width, channels == 3 ? CV_8UC3 : CV_8UC1, bytes);
            if (channels == 3) {
                cv::Mat bgr;
                cv::cvtColor(frame, bgr, cv::COLOR_RGB2BGR);
                writer.write(bgr);
            } else {
                writer.write(frame);
            }
        }
        writer.release();
        return 0;
    } catch (const std::exception &e) {
        return fail(error, error_size, std::string("video writer: ") + e.what());
    }
}
