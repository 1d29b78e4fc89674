// A clip as network input (chain_clip_prepare): crop, flip, resize, colour, normalise.
#include <opencv2/imgproc.hpp>

#include <cmath>

#include "vision_internal.h"

namespace {
/// Clamps every value of a CV_32FC3 image to [0, 1].
void clamp_unit(cv::Mat &image) {
    cv::min(image, 1.0, image);
    cv::max(image, 0.0, image);
}

/// Grey level per pixel (ITU-R 601 luma, as torchvision's rgb_to_grayscale), CV_32FC1.
cv::Mat grey_of(const cv::Mat &rgb) {
    cv::Mat grey;
    cv::transform(rgb, grey, cv::Matx13f(0.299f, 0.587f, 0.114f));
    return grey;
}

/// torchvision's adjust_brightness, adjust_contrast, adjust_saturation, in that order.
void adjust_colour(cv::Mat &rgb, const chain_frame_transform &t) {
    if (t.brightness != 1) {
        rgb *= t.brightness;
        clamp_unit(rgb);
    }
    if (t.contrast != 1) {
        float mean = static_cast<float>(cv::mean(grey_of(rgb))[0]);
        rgb = rgb * t.contrast + cv::Scalar::all(mean * (1 - t.contrast));
        clamp_unit(rgb);
    }
    if (t.saturation != 1) {
        cv::Mat grey3;
        cv::cvtColor(grey_of(rgb), grey3, cv::COLOR_GRAY2RGB);
        cv::addWeighted(rgb, t.saturation, grey3, 1 - t.saturation, 0, rgb);
        clamp_unit(rgb);
    }
}
}  // namespace

extern "C" int chain_clip_prepare(
    const chain_clip *clip, const chain_frame_transform *transform, int size, const float mean[3],
    const float std[3], float *output, char *error, size_t error_size) {
    using chain_vision::fail;
    if (size < 1) return fail(error, error_size, "size must be at least 1");
    try {
        const size_t plane = static_cast<size_t>(size) * size;
        for (size_t f = 0; f < clip->frames.size(); f++) {
            const cv::Mat &frame = clip->frames[f];
            cv::Mat view = frame;
            if (transform != nullptr) {
                // The crop in whole pixels, at least 1 × 1, inside the frame.
                int x = std::clamp(static_cast<int>(std::lround(transform->crop_x * frame.cols)), 0, frame.cols - 1);
                int y = std::clamp(static_cast<int>(std::lround(transform->crop_y * frame.rows)), 0, frame.rows - 1);
                int w = std::clamp(
                    static_cast<int>(std::lround(transform->crop_width * frame.cols)), 1, frame.cols - x);
                int h = std::clamp(
                    static_cast<int>(std::lround(transform->crop_height * frame.rows)), 1, frame.rows - y);
                view = frame(cv::Rect(x, y, w, h));
                if (transform->flip) {
                    cv::Mat flipped;
                    cv::flip(view, flipped, 1);
                    view = flipped;
                }
            }
            cv::Mat unit, resized;
            view.convertTo(unit, CV_32FC3, 1.0 / 255.0);
            if (unit.cols == size && unit.rows == size)
                resized = unit;
            else
                cv::resize(unit, resized, cv::Size(size, size), 0, 0, cv::INTER_LINEAR);
            if (transform != nullptr) adjust_colour(resized, *transform);
            float *planes[3] = {output + (f * 3 + 0) * plane, output + (f * 3 + 1) * plane,
                                output + (f * 3 + 2) * plane};
            for (int row = 0; row < size; row++) {
                const float *pixel = resized.ptr<float>(row);
                for (int column = 0; column < size; column++, pixel += 3) {
                    size_t at = static_cast<size_t>(row) * size + column;
                    for (int c = 0; c < 3; c++) planes[c][at] = (pixel[c] - mean[c]) / std[c];
                }
            }
        }
        return 0;
    } catch (const std::exception &e) {
        return fail(error, error_size, std::string("frame transform: ") + e.what());
    }
}
