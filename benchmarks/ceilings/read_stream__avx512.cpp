// The bandwidth read loop with AVX-512 loads. Built with the AVX-512 flags
// only; called only on hosts that run AVX-512.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

// data is 64-byte aligned. Eight independent xor chains keep many loads in
// flight; xor is the cheapest use of a load that the compiler cannot drop.
uint64_t loci_bench_read_stream__avx512(const void* data, size_t bytes) {
  const auto* p = static_cast<const __m512i*>(data);
  const size_t lines = bytes / 64;
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  size_t i = 0;
  for (; i + 8 <= lines; i += 8) {
    a0 = _mm512_xor_si512(a0, _mm512_load_si512(p + i + 0));
    a1 = _mm512_xor_si512(a1, _mm512_load_si512(p + i + 1));
    a2 = _mm512_xor_si512(a2, _mm512_load_si512(p + i + 2));
    a3 = _mm512_xor_si512(a3, _mm512_load_si512(p + i + 3));
    a4 = _mm512_xor_si512(a4, _mm512_load_si512(p + i + 4));
    a5 = _mm512_xor_si512(a5, _mm512_load_si512(p + i + 5));
    a6 = _mm512_xor_si512(a6, _mm512_load_si512(p + i + 6));
    a7 = _mm512_xor_si512(a7, _mm512_load_si512(p + i + 7));
  }
  for (; i < lines; ++i) a0 = _mm512_xor_si512(a0, _mm512_load_si512(p + i));
  a0 = _mm512_xor_si512(_mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3)),
                        _mm512_xor_si512(_mm512_xor_si512(a4, a5), _mm512_xor_si512(a6, a7)));
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(reinterpret_cast<__m512i*>(lanes), a0);
  uint64_t r = 0;
  for (uint64_t l : lanes) r ^= l;
  const auto* tail = static_cast<const uint8_t*>(data) + lines * 64;
  for (size_t j = 0; j < bytes % 64; ++j) r ^= tail[j];
  return r;
}
