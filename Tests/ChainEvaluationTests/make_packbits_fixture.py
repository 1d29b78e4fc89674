#!/usr/bin/env python3
"""Writes Fixtures/packbits.json: random ±1 codes (one exact 0, which must map to bit 0)
and numpy.packbits(codes > 0, axis=1), the code-file layout of chain-eval and faiss binary
indexes. Run once with numpy: cd Fixtures && python3 ../make_packbits_fixture.py"""
import json

import numpy as np

rng = np.random.default_rng(7)
cases = []
for bits in [8, 12, 16, 64]:
    codes = rng.choice([-1.0, 1.0], size=(5, bits))
    codes[0, 0] = 0.0
    cases.append(dict(bits=bits, codes=codes.tolist(), packed=np.packbits(codes > 0, axis=1).tolist()))
json.dump(dict(generator="numpy.packbits(codes > 0, axis=1)", numpy=np.__version__, cases=cases),
          open("packbits.json", "w"), separators=(",", ":"))
