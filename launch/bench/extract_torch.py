#!/usr/bin/env python3
"""The PyTorch side of launch/bench/extract-compare: the same clips through PyAV decoding, the
same frame rule and preprocessing as chain-extract, and the same network in PyTorch (CPU).

    python3 launch/bench/extract_torch.py --model mobilenetv2 --size 112 --threads 1 \
        --videos LIST.txt [--features OUT.npy]

--model names a launch/export-onnx.py model, built with its seeded random weights: the ONNX
file chain-extract runs is the export of this very module, so the two sides' features can be
compared. Prints frames/s of the whole pipeline (decode + preprocess + network) and of the
network alone.
Needs torch, torchvision, av, numpy (a venv outside the repo).
"""
import argparse
import importlib.util
import math
import os
import time

import av
import numpy as np
import torch
import torch.nn.functional as F

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def load_export_module():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "export-onnx.py")
    spec = importlib.util.spec_from_file_location("export_onnx", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sampled_frames(path, frames):
    """chain-extract's rule: frame floor((i + 1/2) n / T) of the n decoded frames."""
    with av.open(path) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    n = len(decoded)
    return [decoded[min(n - 1, math.floor((i + 0.5) * n / frames))] for i in range(frames)]


def prepare(frames, size):
    x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return (x - MEAN) / STD


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--frames", type=int, default=25)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--videos", required=True, help="text file of video paths")
    parser.add_argument("--features", help="write the (N, T, F) features here (.npy)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, _, _ = load_export_module().build(args.model, random_weights=True)
    model.eval()
    paths = [line.strip() for line in open(args.videos) if line.strip()]
    features, network_seconds = [], 0.0
    start = time.perf_counter()
    with torch.inference_mode():
        for path in paths:
            x = prepare(sampled_frames(path, args.frames), args.size)
            t = time.perf_counter()
            features.append(model(x).numpy())
            network_seconds += time.perf_counter() - t
    total = time.perf_counter() - start
    frames = len(paths) * args.frames
    print(f"torch {args.model} size {args.size} threads {args.threads}: {frames / total:.1f} frames/s pipeline, "
          f"{frames / network_seconds:.1f} frames/s network ({len(paths)} clips, torch {torch.__version__})")
    if args.features:
        np.save(args.features, np.stack(features))


if __name__ == "__main__":
    main()
