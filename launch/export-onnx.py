#!/usr/bin/env python3
"""Exports a torchvision CNN as the per-frame ONNX feature extractor chain-extract runs.

    python3 launch/export-onnx.py MODEL OUT.onnx [--random-weights]
      MODEL: vgg16-fc7     4096-d, VGG16's fc7 after its ReLU (the public FCVID/UCF101 layout)
             resnet50-pool 2048-d, ResNet-50's global average pool (ActivityNet's layout)
             mobilenetv2   1280-d, MobileNetV2's global average pool (../shared's features)

Needs torch and torchvision (pip install torch torchvision onnx, in a venv outside the repo);
ImageNet weights are downloaded by torchvision on first use, --random-weights skips that (for
speed measurements only). The graph: input `input` float32 [N, 3, H, W] (N, H, W dynamic;
VGG16's fc layers need H = W = 224), output `features` float32 [N, F], opset 17, in eval mode
(dropout off, batch norm folded by the exporter). Preprocessing is chain-extract's default:
RGB / 255, mean 0.485 0.456 0.406, std 0.229 0.224 0.225.
"""
import argparse

import torch
import torchvision


class VGG16FC7(torch.nn.Module):
    def __init__(self, vgg):
        super().__init__()
        self.features = vgg.features
        self.fc7 = torch.nn.Sequential(*list(vgg.classifier.children())[:5])  # fc6 ReLU Dropout fc7 ReLU

    def forward(self, x):
        # At 224 × 224 the trunk gives 512 × 7 × 7, where VGG's adaptive pool is the identity.
        return self.fc7(torch.flatten(self.features(x), 1))


class Pooled(torch.nn.Module):
    """A convolutional trunk followed by the global average pool."""

    def __init__(self, trunk):
        super().__init__()
        self.trunk = trunk

    def forward(self, x):
        return torch.flatten(torch.nn.functional.adaptive_avg_pool2d(self.trunk(x), 1), 1)


def build(name, random_weights):
    """The module, its input size and whether H and W may vary. Random weights are seeded."""
    torch.manual_seed(0)
    weights = None if random_weights else "DEFAULT"
    if name == "vgg16-fc7":
        return VGG16FC7(torchvision.models.vgg16(weights=weights)), 224, False
    if name == "resnet50-pool":
        resnet = torchvision.models.resnet50(weights=weights)
        return Pooled(torch.nn.Sequential(*list(resnet.children())[:-2])), 224, True
    if name == "mobilenetv2":
        return Pooled(torchvision.models.mobilenet_v2(weights=weights).features), 224, True
    raise SystemExit(f"export-onnx.py: unknown model {name} (vgg16-fc7, resnet50-pool, mobilenetv2)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("out")
    parser.add_argument("--random-weights", action="store_true")
    args = parser.parse_args()
    model, size, any_size = build(args.model, args.random_weights)
    model.eval()
    example = torch.zeros(2, 3, size, size)
    torch.onnx.export(
        model, (example,), args.out, input_names=["input"], output_names=["features"], opset_version=17,
        dynamic_axes={"input": {0: "N", 2: "H", 3: "W"} if any_size else {0: "N"}, "features": {0: "N"}},
        dynamo=False)
    with torch.no_grad():
        print(f"{args.out}: {args.model}, features {tuple(model(example).shape[1:])}")


if __name__ == "__main__":
    main()
