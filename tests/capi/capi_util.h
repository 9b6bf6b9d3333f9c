// Helpers for the C ABI tests: owned handles, the shared model path, and
// guards that put process-wide settings back even when a test fails.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "loci.h"
#include "support/test_support.h"

namespace capit {

struct ModelFree {
  void operator()(loci_model* m) const { loci_model_free(m); }
};
struct SessionFree {
  void operator()(loci_session* s) const { loci_session_free(s); }
};
struct SamplerFree {
  void operator()(loci_sampler* s) const { loci_sampler_free(s); }
};
using ModelPtr = std::unique_ptr<loci_model, ModelFree>;
using SessionPtr = std::unique_ptr<loci_session, SessionFree>;
using SamplerPtr = std::unique_ptr<loci_sampler, SamplerFree>;

// A missing shared file fails the test: a skipped test would hide it.
inline std::string shared_model(const char* file = "stories260K.gguf") {
  const std::string path = loci::test::shared_dir() + "/models/" + file;
  if (!loci::test::file_exists(path)) FAIL("shared file missing: " << path << " (set LOCI_SHARED_DIR)");
  return path;
}

inline ModelPtr load(const char* file = "stories260K.gguf") {
  loci_model* m = nullptr;
  const loci_status st = loci_model_load(shared_model(file).c_str(), nullptr, &m);
  INFO(loci_last_error());
  REQUIRE(st == LOCI_OK);
  REQUIRE(m != nullptr);
  return ModelPtr(m);
}

inline loci_session_params session_params(uint32_t n_ctx = 64, uint32_t n_threads = 2) {
  loci_session_params p;
  loci_session_params_init(&p);
  p.n_ctx = n_ctx;
  p.n_threads = n_threads;
  return p;
}

inline SessionPtr make_session(const loci_model* m, const loci_session_params& p) {
  loci_session* s = nullptr;
  const loci_status st = loci_session_create(m, &p, &s);
  INFO(loci_last_error());
  REQUIRE(st == LOCI_OK);
  REQUIRE(s != nullptr);
  return SessionPtr(s);
}
inline SessionPtr make_session(const loci_model* m, uint32_t n_ctx = 64) {
  return make_session(m, session_params(n_ctx));
}

inline SamplerPtr make_sampler(const loci_model* m, const loci_sampler_params& p) {
  loci_sampler* s = nullptr;
  const loci_status st = loci_sampler_create(m, &p, &s);
  INFO(loci_last_error());
  REQUIRE(st == LOCI_OK);
  return SamplerPtr(s);
}
inline SamplerPtr greedy_sampler(const loci_model* m) {
  loci_sampler_params p;
  loci_sampler_params_init(&p);
  p.temperature = 0.0f;
  return make_sampler(m, p);
}

inline std::vector<int32_t> tokenize(const loci_model* m, const std::string& text, uint32_t flags) {
  size_t n = 0;
  loci_status st = loci_tokenize(m, text.data(), text.size(), flags, nullptr, 0, &n);
  REQUIRE((st == LOCI_OK || st == LOCI_ERR_BUFFER_TOO_SMALL));
  std::vector<int32_t> ids(n);
  st = loci_tokenize(m, text.data(), text.size(), flags, ids.data(), ids.size(), &n);
  INFO(loci_last_error());
  REQUIRE(st == LOCI_OK);
  REQUIRE(n == ids.size());
  return ids;
}

inline std::vector<float> logits_of(const loci_session* s) {
  const float* l = loci_session_logits(s);
  REQUIRE(l != nullptr);
  return std::vector<float>(l, l + loci_session_n_vocab(s));
}

inline bool same_bits(const std::vector<float>& a, const float* b) {
  return b && std::memcmp(a.data(), b, a.size() * sizeof(float)) == 0;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The stories260K tokens the C++ session tests use.
inline const std::vector<int32_t>& tokens8() {
  static const std::vector<int32_t> t = {1, 403, 407, 261, 378, 300, 301, 302};
  return t;
}

// An allocator that records every live block, checks each free against its
// alloc (pointer, size), and can be told to fail.
struct CountingAllocator {
  struct Block {
    size_t size;
    size_t alignment;
  };
  std::mutex mu;
  std::map<void*, Block> live;
  size_t allocs = 0, frees = 0, refused = 0;
  size_t bytes_peak = 0, bytes_live = 0;
  size_t largest = 0;
  size_t bad_frees = 0;          // unknown pointer or wrong size
  size_t bad_alignments = 0;     // not a power of two, or above 4096
  bool fail_all = false;
  size_t fail_above = SIZE_MAX;  // refuse blocks larger than this

  static void* alloc(void* user, size_t size, size_t alignment) {
    auto* c = static_cast<CountingAllocator*>(user);
    std::lock_guard<std::mutex> lock(c->mu);
    if (alignment == 0 || (alignment & (alignment - 1)) || alignment > 4096) ++c->bad_alignments;
    if (c->fail_all || size > c->fail_above) {
      ++c->refused;
      return nullptr;
    }
    void* p = std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
    if (!p) return nullptr;
    c->live[p] = {size, alignment};
    ++c->allocs;
    c->bytes_live += size;
    c->bytes_peak = std::max(c->bytes_peak, c->bytes_live);
    c->largest = std::max(c->largest, size);
    return p;
  }
  static void free(void* user, void* p, size_t size) {
    auto* c = static_cast<CountingAllocator*>(user);
    std::lock_guard<std::mutex> lock(c->mu);
    auto it = c->live.find(p);
    if (it == c->live.end() || it->second.size != size) {
      ++c->bad_frees;
      return;  // leak rather than free a pointer we do not own
    }
    c->bytes_live -= size;
    c->live.erase(it);
    ++c->frees;
    std::free(p);
  }
  size_t live_count() {
    std::lock_guard<std::mutex> lock(mu);
    return live.size();
  }
};

// Installs an allocator; the destructor puts the default back. Declare it
// before any handle, so the handles are freed first.
class AllocatorGuard {
 public:
  explicit AllocatorGuard(CountingAllocator* c) {
    loci_allocator a;
    loci_allocator_init(&a);
    a.user = c;
    a.alloc = CountingAllocator::alloc;
    a.free = CountingAllocator::free;
    const loci_status st = loci_set_allocator(&a);
    INFO(loci_last_error());
    REQUIRE(st == LOCI_OK);
  }
  ~AllocatorGuard() { loci_set_allocator(nullptr); }
  AllocatorGuard(const AllocatorGuard&) = delete;
  AllocatorGuard& operator=(const AllocatorGuard&) = delete;
};

// Turns logging off when the test ends.
struct LogGuard {
  ~LogGuard() { loci_set_log_callback(nullptr, nullptr, LOCI_LOG_ERROR); }
};

// Puts the ISA cap back when the test ends.
struct IsaGuard {
  loci_isa saved = loci_isa_cap();
  ~IsaGuard() { loci_set_isa_cap(saved); }
};

}  // namespace capit
