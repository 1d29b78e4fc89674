// The ONNX protobuf classes from Debian (libonnx-dev, libprotobuf-dev; protobuf through
// pkg-config). C++ only: CVision uses them to rewrite models for OpenCV's importer.
#ifndef CHAIN_CONNX_SHIM_H
#define CHAIN_CONNX_SHIM_H
#endif
