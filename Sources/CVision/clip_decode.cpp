// Decoding a video into T sampled frames (chain_clip_decode).
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <cmath>

#include "vision_internal.h"

namespace {
/// Frame index of sample i of `frames` from a video of n frames: the centre of segment i.
int64_t sampled_index(int i, int frames, int64_t n) {
    return std::min<int64_t>(n - 1, static_cast<int64_t>(std::floor((i + 0.5) * static_cast<double>(n) / frames)));
}

bool open_capture(cv::VideoCapture &capture, const char *path) {
    try {
        return capture.open(path, cv::CAP_FFMPEG) && capture.isOpened();
    } catch (const cv::Exception &) {
        return false;
    }
}
}  // namespace

extern "C" int chain_clip_decode(
    const char *path, int frames, chain_clip **clip, chain_video_info *info, char *error, size_t error_size) {
    using chain_vision::fail;
    *clip = nullptr;
    if (frames < 1) return fail(error, error_size, "frames must be at least 1");
    try {
        // Pass 1: count the frames by decoding them (container frame counts can be wrong).
        cv::VideoCapture capture;
        if (!open_capture(capture, path))
            return fail(error, error_size, "cannot open as a video (not a video file, or a codec this FFmpeg lacks)");
        chain_video_info found{};
        found.declared_frames = std::max<int64_t>(0, static_cast<int64_t>(capture.get(cv::CAP_PROP_FRAME_COUNT)));
        found.frames_per_second = std::max(0.0, capture.get(cv::CAP_PROP_FPS));
        double last_ms = 0;  // the latest timestamp seen (frames flushed at the end report none)
        int64_t n = 0;
        while (capture.grab()) {
            last_ms = std::max(last_ms, capture.get(cv::CAP_PROP_POS_MSEC));
            n += 1;
        }
        capture.release();
        if (n == 0) return fail(error, error_size, "no decodable video frame (empty, truncated or not a video)");
        if (found.declared_frames > 0 && n * 2 < found.declared_frames)
            return fail(
                error, error_size,
                "truncated or damaged: decoded " + std::to_string(n) + " of the " +
                    std::to_string(found.declared_frames) + " frames its container declares");
        found.decoded_frames = n;
        found.duration_seconds =
            found.frames_per_second > 0 ? static_cast<double>(n) / found.frames_per_second : last_ms / 1000.0;

        // Pass 2: keep the sampled frames (indices ascending, possibly repeated).
        std::vector<int64_t> wanted(frames);
        for (int i = 0; i < frames; i++) wanted[i] = sampled_index(i, frames, n);
        auto result = std::make_unique<chain_clip>();
        result->frames.resize(frames);
        if (!open_capture(capture, path)) return fail(error, error_size, "could not reopen the video for pass 2");
        int next = 0;
        cv::Mat decoded;
        for (int64_t index = 0; index < n && next < frames; index++) {
            if (!capture.grab())
                return fail(error, error_size, "frame " + std::to_string(index) + " decoded in pass 1 but not in 2");
            if (wanted[next] != index) continue;
            if (!capture.retrieve(decoded) || decoded.empty())
                return fail(error, error_size, "frame " + std::to_string(index) + " could not be converted");
            cv::Mat rgb;
            if (decoded.channels() == 1)
                cv::cvtColor(decoded, rgb, cv::COLOR_GRAY2RGB);
            else if (decoded.channels() == 4)
                cv::cvtColor(decoded, rgb, cv::COLOR_BGRA2RGB);
            else
                cv::cvtColor(decoded, rgb, cv::COLOR_BGR2RGB);
            if (rgb.depth() != CV_8U) rgb.convertTo(rgb, CV_8U);
            while (next < frames && wanted[next] == index) result->frames[next++] = rgb;
        }
        if (next < frames) return fail(error, error_size, "pass 2 ended before the sampled frames");
        found.width = result->frames[0].cols;
        found.height = result->frames[0].rows;
        *info = found;
        *clip = result.release();
        return 0;
    } catch (const std::exception &e) {
        return fail(error, error_size, std::string("decoder error: ") + e.what());
    }
}

extern "C" void chain_clip_free(chain_clip *clip) { delete clip; }

extern "C" int chain_clip_frames(const chain_clip *clip) { return static_cast<int>(clip->frames.size()); }

extern "C" void chain_clip_frame_size(const chain_clip *clip, int index, int *width, int *height) {
    *width = clip->frames[index].cols;
    *height = clip->frames[index].rows;
}
