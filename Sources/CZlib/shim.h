// zlib, plus an accessor for inflateInit (a macro that passes the library version).
#ifndef CHAIN_CZLIB_SHIM_H
#define CHAIN_CZLIB_SHIM_H
#include <zlib.h>
static inline int chain_inflate_init(z_stream *stream) { return inflateInit(stream); }
#endif
