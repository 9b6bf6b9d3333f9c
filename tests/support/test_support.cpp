#include "support/test_support.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace loci::test {

uint64_t seed() {
  static const uint64_t s = [] {
    uint64_t v;
    if (const char* env = std::getenv("LOCI_TEST_SEED")) {
      v = std::strtoull(env, nullptr, 0);
    } else {
      std::random_device rd;
      v = (uint64_t(rd()) << 32) ^ rd();
    }
    std::fprintf(stderr, "loci tests: random seed %llu (replay with LOCI_TEST_SEED=%llu)\n", (unsigned long long)v,
                 (unsigned long long)v);
    return v;
  }();
  return s;
}

std::mt19937_64 rng(uint64_t stream) {
  std::seed_seq seq{uint32_t(seed()), uint32_t(seed() >> 32), uint32_t(stream), uint32_t(stream >> 32)};
  return std::mt19937_64(seq);
}

std::vector<float> random_floats(std::mt19937_64& g, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}

std::vector<uint8_t> random_bytes(std::mt19937_64& g, size_t n) {
  std::vector<uint8_t> v(n);
  for (uint8_t& b : v) b = uint8_t(g());
  return v;
}

std::string shared_dir() {
  if (const char* env = std::getenv("LOCI_SHARED_DIR"); env && *env) return env;
  return "../shared";
}

bool file_exists(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::fclose(f);
  return true;
}

}  // namespace loci::test
