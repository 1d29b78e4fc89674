// OpenCV from Debian (libopencv-dev), found through pkg-config (opencv4). Its API is C++:
// only the CVision target includes it, in its .cpp files; Swift imports CVision's C header.
#ifndef CHAIN_COPENCV_SHIM_H
#define CHAIN_COPENCV_SHIM_H
#endif
