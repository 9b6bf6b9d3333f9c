// The bandwidth read loop in plain C++, for hosts without a wider variant;
// the compiler vectorises it at the architecture's baseline.
#include <cstddef>
#include <cstdint>
#include <cstring>

uint64_t loci_bench_read_stream(const void* data, size_t bytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t acc[8] = {};
  size_t i = 0;
  for (; i + sizeof acc <= bytes; i += sizeof acc) {
    uint64_t v[8];
    std::memcpy(v, p + i, sizeof v);
    for (int j = 0; j < 8; ++j) acc[j] ^= v[j];
  }
  for (; i < bytes; ++i) acc[0] ^= p[i];
  uint64_t r = 0;
  for (uint64_t a : acc) r ^= a;
  return r;
}
