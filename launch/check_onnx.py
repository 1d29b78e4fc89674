"""onnxruntime on an exported CHAIN model against chain-encode's codes (launch/check-onnx)."""
import sys

import h5py
import numpy as np
import onnx
import onnxruntime as ort

TOLERANCE = 1e-5


def main(model_path, features_path, codes_path, key="feats"):
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)  # operators, types, shapes
    opset = {o.domain: o.version for o in model.opset_import}[""]
    meta = {p.key: p.value for p in model.metadata_props}
    with h5py.File(features_path, "r") as f:
        feats = f[key][...].astype(np.float32)
    if feats.ndim == 4:  # augmented copies (N, A, T, F): row v·A + a, as chain-encode
        feats = feats.reshape(-1, *feats.shape[2:])
    with h5py.File(codes_path, "r") as f:
        packed_ref, values_ref = f["codes"][...], f["values"][...]
        bits = int(f["codes"].attrs["bits"])
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    codes, packed = [], []
    for start in range(0, len(feats), 64):
        c, p = session.run(["code", "packed"], {"features": feats[start:start + 64]})
        codes.append(c)
        packed.append(p)
    code, packed = np.concatenate(codes), np.concatenate(packed)
    assert packed.dtype == np.uint8 and packed.shape == packed_ref.shape, (packed.dtype, packed.shape)
    assert int(meta["bits"]) == bits, meta
    # The packed output is numpy.packbits(code >= 0): check the graph's own packing too.
    assert np.array_equal(packed, np.packbits(code >= 0, axis=1)), "packed is not packbits(code >= 0)"
    wrong_bits = int(np.unpackbits(packed ^ packed_ref, axis=1)[:, :bits].sum())
    worst = float(np.abs(code - values_ref).max())
    print(f"check-onnx: opset {opset}, {len(feats)} videos of {feats.shape[1]} frames, {bits} bits "
          f"(views {meta['views']}, pooling {meta['pooling']}): {wrong_bits} bits differ from chain-encode, "
          f"max |code - values| {worst:.2e}")
    return 0 if wrong_bits == 0 and worst <= TOLERANCE else 1


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: check_onnx.py MODEL.onnx FEATURES.h5 CODES.h5 [KEY]")
    sys.exit(main(*sys.argv[1:]))
