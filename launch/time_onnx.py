"""Times onnxruntime on an exported model over a feature file, 64 videos per call, with 1
and 2 intra-op threads; median of 5 passes (docs/benchmarks.md, "Exported models"):
    ~/.cache/chain-onnx-venv/bin/python launch/time_onnx.py MODEL.onnx FEATURES.h5
"""
import sys
import time

import h5py
import numpy as np
import onnxruntime as ort

x = h5py.File(sys.argv[2], "r")["feats"][...].astype(np.float32)
for threads in (1, 2):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for i in range(0, len(x), 64):
            session.run(["packed"], {"features": x[i:i + 64]})
        times.append(time.perf_counter() - start)
    print(f"onnxruntime {threads} thread(s): median {np.median(times):.3f} s for {len(x)} videos")
