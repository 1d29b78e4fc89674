// The C interface of CVision: video decoding (OpenCV videoio on FFmpeg), frame transforms
// (OpenCV imgproc) and a CNN from an ONNX file (OpenCV dnn), for chain-extract.
// Every function that can fail returns 0 on success and -1 on failure, with a message in
// `error` (a buffer of `error_size` bytes the caller owns). Nothing here is thread-safe per
// object; different objects may be used from different threads.
#ifndef CHAIN_VISION_H
#define CHAIN_VISION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// T frames sampled from one video: 8-bit RGB, each frame at the video's own size.
typedef struct chain_clip chain_clip;

/// What decoding found out about a video.
typedef struct {
    /// Frames the decoder produced (every frame of the stream, counted by decoding it).
    int64_t decoded_frames;
    /// Frames the container declares (0 when it does not say).
    int64_t declared_frames;
    /// Decoded frames / the container's mean frame rate (without a rate: the last timestamp).
    double duration_seconds;
    /// Mean frame rate the container reports (0 when unknown).
    double frames_per_second;
    int width, height;
} chain_video_info;

/// Decodes `path` twice: once to count its frames (n), once to keep `frames` of them, frame
/// index floor((i + 1/2) · n / frames) for i = 0 … frames − 1: the centres of `frames` equal
/// segments (a video with fewer than `frames` frames repeats frames). Fails on a file the
/// FFmpeg build cannot open, a stream with no decodable frame, or one that stops before half
/// of the frames its container declares (truncated or damaged).
int chain_clip_decode(
    const char *path, int frames, chain_clip **clip, chain_video_info *info, char *error, size_t error_size);
void chain_clip_free(chain_clip *clip);
int chain_clip_frames(const chain_clip *clip);
/// The size of frame `index` (frames of one video normally share it).
void chain_clip_frame_size(const chain_clip *clip, int index, int *width, int *height);

/// One spatial setting, applied identically to every frame of a clip.
typedef struct {
    /// Crop rectangle as fractions of the frame: left, top, width, height in [0, 1].
    float crop_x, crop_y, crop_width, crop_height;
    /// Mirror left–right (after the crop).
    int flip;
    /// Colour factors (1 = unchanged), torchvision's definitions, in this order, each clamped
    /// to [0, 1]: brightness x·b; contrast (x − m)·c + m with m the frame's mean grey level;
    /// saturation (x − g)·s + g with g the pixel's grey level (ITU-R 601 luma weights).
    float brightness, contrast, saturation;
} chain_frame_transform;

/// Writes the clip as network input, frames × 3 × size × size float32 (NCHW) at `output`:
/// crop and flip (when `transform` is not NULL), RGB / 255, bilinear resize with half-pixel
/// centres and no antialiasing (PyTorch's F.interpolate(mode="bilinear",
/// align_corners=False)), colour factors, then (x − mean[c]) / std[c] per channel.
int chain_clip_prepare(
    const chain_clip *clip, const chain_frame_transform *transform, int size, const float mean[3],
    const float std[3], float *output, char *error, size_t error_size);

/// A CNN read from an ONNX file and run by OpenCV's dnn module on the CPU.
typedef struct chain_network chain_network;

/// Reads an ONNX model. Before OpenCV's importer sees it, the graph is rewritten where
/// OpenCV 4.6 would misread it (see onnx_legalize.cpp): Clip's min/max inputs become
/// attributes (ReLU6 in opset ≥ 11), a mean over the two spatial axes that drops them
/// becomes GlobalAveragePool + Flatten, and Identity nodes are bypassed. `rewrites` (may be
/// NULL) receives how many nodes changed.
int chain_network_load(
    const char *onnx_path, chain_network **network, int *rewrites, char *error, size_t error_size);
void chain_network_free(chain_network *network);
/// Runs `batch` images of channels × height × width; on success `output` holds batch ×
/// features values (capacity: `output_capacity` floats) and `features` the row width. The
/// output must be batch × F (or batch × F × 1 × 1): anything else is an error.
int chain_network_forward(
    chain_network *network, const float *input, int batch, int channels, int height, int width, float *output,
    size_t output_capacity, int64_t *features, char *error, size_t error_size);

/// Threads OpenCV uses for everything (0: its default, all cores).
void chain_vision_set_threads(int threads);
/// OpenCV's version and whether its videoio has the FFmpeg backend, for logs.
const char *chain_vision_build_summary(void);

/// Writes `count` frames (count × height × width × channels bytes; channels 3 = RGB or 1 =
/// grey) as a video file with the FourCC `codec` ("mp4v", "MJPG", "avc1", "FFV1", …) through
/// the FFmpeg backend. For tests and examples: videos with known content.
int chain_video_write(
    const char *path, const char *codec, double frames_per_second, const uint8_t *frames, int count, int width,
    int height, int channels, char *error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif
