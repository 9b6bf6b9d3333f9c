// <immintrin.h> for every x86 kernel file, without GCC 12's false warnings.
//
// GCC 12 flags the deliberately self-initialised "undefined" vectors inside
// its AVX-512 intrinsic headers as uninitialised (fixed in GCC 13). The
// warning points into the intrinsic headers, so silencing it around this
// include alone keeps it on for loci's own code.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
