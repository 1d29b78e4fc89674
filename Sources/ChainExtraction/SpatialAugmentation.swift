import CVision
import Foundation
import ChainNumerics

/// How augmented copies are drawn: one random resized crop, one flip decision and one set of
/// colour factors per copy, applied to every frame of the clip (temporally consistent).
///
/// The defaults are those of `../shared/data/shots`' copies, milder than torchvision's
/// ImageNet crop (area 0.08–1) because a retrieval copy must stay the same video: crop area
/// 0.5–1 of the frame, aspect 3/4–4/3, flip with p = 0.5, brightness, contrast and saturation
/// factors uniform in 1 ± 0.2. A copy is a function of (seed, row, copy) only, so reruns and
/// any world size give the same copies.
public struct SpatialAugmentation: Sendable, Equatable, Codable {
    public var cropArea: ClosedRange<Float> = 0.5...1
    public var cropAspect: ClosedRange<Float> = 0.75...(4.0 / 3.0)
    public var flipProbability: Float = 0.5
    public var brightness: Float = 0.2
    public var contrast: Float = 0.2
    public var saturation: Float = 0.2

    public init() {}

    /// The setting of copy `copy` of the video in row `row`, for frames of `width` × `height`.
    ///
    /// The crop follows torchvision's RandomResizedCrop: area fraction uniform, log-aspect
    /// uniform, up to 10 tries for a box that fits, else the whole frame's central crop at the
    /// nearest allowed aspect.
    public func transform(seed: UInt64, row: Int, copy: Int, width: Int, height: Int) -> chain_frame_transform {
        var random = Philox(seed: seed, stream: 0x6578_7472_6163_74).split(UInt64(row)).split(UInt64(copy))
        let frameWidth = Float(width), frameHeight = Float(height), area = frameWidth * frameHeight
        var box: (x: Float, y: Float, w: Float, h: Float)? = nil
        for _ in 0..<10 {
            let target = area * random.nextUniform(cropArea.lowerBound, cropArea.upperBound)
            let logAspect = random.nextUniform(log(cropAspect.lowerBound), log(cropAspect.upperBound))
            let aspect = exp(logAspect)
            let w = (target * aspect).squareRoot(), h = (target / aspect).squareRoot()
            let x = random.nextUniform(), y = random.nextUniform()
            if w <= frameWidth && h <= frameHeight {
                box = ((frameWidth - w) * x, (frameHeight - h) * y, w, h)
                break
            }
        }
        if box == nil {
            let frameAspect = frameWidth / frameHeight
            let aspect = min(max(frameAspect, cropAspect.lowerBound), cropAspect.upperBound)
            let w = frameAspect > aspect ? frameHeight * aspect : frameWidth
            let h = frameAspect > aspect ? frameHeight : frameWidth / aspect
            box = ((frameWidth - w) / 2, (frameHeight - h) / 2, w, h)
        }
        let flip = random.nextUniform() < flipProbability
        func factor(_ spread: Float) -> Float { spread > 0 ? random.nextUniform(1 - spread, 1 + spread) : 1 }
        let b = factor(brightness), c = factor(contrast), s = factor(saturation)
        return chain_frame_transform(
            crop_x: box!.x / frameWidth, crop_y: box!.y / frameHeight, crop_width: box!.w / frameWidth,
            crop_height: box!.h / frameHeight, flip: flip ? 1 : 0, brightness: b, contrast: c, saturation: s)
    }
}
