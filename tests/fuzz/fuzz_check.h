// Shared by the fuzz targets: invariant checks that abort (so libFuzzer
// records a crash with the input) and a padded, aligned copy of an input.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "loci/status.h"

// A broken invariant is a bug even when nothing crashed: report and abort.
#define FUZZ_CHECK(cond, ...)                                                    \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, "  " __VA_ARGS__);                                    \
      std::fprintf(stderr, "\n");                                                \
      std::abort();                                                              \
    }                                                                            \
  } while (0)

namespace loci::fuzz {

// Loader errors are expected; any other code (internal, out of memory on a
// capped input) is a finding.
inline bool is_refusal(const Status& s) {
  return s.code() == StatusCode::kInvalidModel || s.code() == StatusCode::kUnsupported;
}

// `size` bytes followed by `padding` zeros, at an address aligned to `align`
// (a power of two), as GgufFile::borrow and loci_model_load_from_buffer want.
class AlignedCopy {
 public:
  AlignedCopy(const uint8_t* data, size_t size, size_t align, size_t padding) : size_(size) {
    if (align < alignof(max_align_t)) align = alignof(max_align_t);
    const size_t total = (size + padding + align - 1) / align * align;
    p_ = static_cast<uint8_t*>(std::aligned_alloc(align, total ? total : align));
    if (!p_) return;
    if (size) std::memcpy(p_, data, size);
    std::memset(p_ + size, 0, total - size);
  }
  ~AlignedCopy() { std::free(p_); }
  AlignedCopy(const AlignedCopy&) = delete;
  AlignedCopy& operator=(const AlignedCopy&) = delete;
  const uint8_t* data() const { return p_; }
  size_t size() const { return size_; }

 private:
  uint8_t* p_ = nullptr;
  size_t size_ = 0;
};

}  // namespace loci::fuzz
