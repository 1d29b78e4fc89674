#!/usr/bin/env python3
"""Writes the label fixtures the Swift MAT reader is tested against (run once; needs scipy
and h5py, which are not project dependencies):
    cd Fixtures && python3 ../make_label_fixtures.py

The expected matrix is E[i][j] = 1 if (3*i + j) % 4 == 0 else 0, 7 rows x 5 classes,
except where a file says otherwise. Files:
  v5_double.mat        scipy.io.savemat, uncompressed, key 'labels' (float64)
  v5_double_z.mat      the same, do_compression=True (miCOMPRESSED element)
  v5_single_z.mat      float32, compressed, key 're_label'
  v5_uint8.mat         uint8, uncompressed, key 'q_label'
  v5_logical_z.mat     logical (bool), compressed, key 'labels', plus a second variable 'other'
  v5_row.mat           a 1 x 5 row (key 'labels'), single row
  v73.mat              MATLAB 7.3 layout: HDF5 with a 512-byte userblock holding the MAT
                       header text, dataset 'labels' stored transposed (5 x 7) with
                       attribute MATLAB_class = 'double'
  plain_labels.h5      plain HDF5 dataset 'labels' (7 x 5, uint8), not transposed
  v5_corrupt_z.mat     v5_double_z.mat with its compressed stream cut short
  v5_sparse.mat        a scipy.sparse matrix (MATLAB sparse class; the reader must refuse it)
"""
import numpy as np
import scipy.io
import scipy.sparse
import h5py

E = np.array([[1.0 if (3 * i + j) % 4 == 0 else 0.0 for j in range(5)] for i in range(7)])

scipy.io.savemat("v5_double.mat", {"labels": E})
scipy.io.savemat("v5_double_z.mat", {"labels": E}, do_compression=True)
scipy.io.savemat("v5_single_z.mat", {"re_label": E.astype(np.float32)}, do_compression=True)
scipy.io.savemat("v5_uint8.mat", {"q_label": E.astype(np.uint8)})
scipy.io.savemat("v5_logical_z.mat", {"other": np.arange(3.0), "labels": E.astype(bool)}, do_compression=True)
scipy.io.savemat("v5_row.mat", {"labels": E[:1]})
scipy.io.savemat("v5_sparse.mat", {"labels": scipy.sparse.csc_matrix(E)})

with open("v5_double_z.mat", "rb") as f:
    data = f.read()
with open("v5_corrupt_z.mat", "wb") as f:
    f.write(data[: len(data) - 40])

with h5py.File("v73.mat", "w", userblock_size=512) as f:
    d = f.create_dataset("labels", data=E.T)          # MATLAB is column-major: stored transposed
    d.attrs["MATLAB_class"] = np.bytes_("double")
with open("v73.mat", "r+b") as f:
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Wed Nov 25 00:00:00 2026 HDF5 schema 1.00 ."
    f.write(header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM")

with h5py.File("plain_labels.h5", "w") as f:
    f.create_dataset("labels", data=E.astype(np.uint8))
