#include "malloc_counter.h"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {

std::atomic<bool> g_counting{false};
std::atomic<size_t> g_count{0};
std::atomic<size_t> g_fail_at{0};  // 0: no failure armed
std::atomic<bool> g_failed{false};
std::atomic<size_t> g_largest{0};

// Which counted blocks are live: an open-addressing set of pointers in static
// storage (the tracker must not allocate), guarded by a spin lock.
class LiveSet {
 public:
  void clear() {
    lock();
    if (used_) std::memset(slots_, 0, sizeof slots_);
    used_ = 0;
    live_.store(0);
    overflow_ = false;
    unlock();
  }
  void insert(void* p) {
    lock();
    if (used_ + 1 > kSlots / 4 * 3) {
      overflow_ = true;
    } else {
      size_t i = slot_of(p);
      while (slots_[i] > kTombstone) i = (i + 1) & (kSlots - 1);
      if (slots_[i] == kEmpty) ++used_;
      slots_[i] = uintptr_t(p);
      live_.fetch_add(1);
    }
    unlock();
  }
  // True if `p` was a tracked block (it no longer is).
  bool erase(void* p) {
    if (live_.load(std::memory_order_relaxed) == 0) return false;  // the common case: nothing tracked
    lock();
    bool found = false;
    for (size_t i = slot_of(p); slots_[i] != kEmpty; i = (i + 1) & (kSlots - 1)) {
      if (slots_[i] == uintptr_t(p)) {
        slots_[i] = kTombstone;
        live_.fetch_sub(1);
        found = true;
        break;
      }
    }
    unlock();
    return found;
  }
  size_t live() const { return live_.load(); }
  template <typename F>
  void for_each(F f) {
    for (size_t i = 0; i < kSlots; ++i)
      if (slots_[i] > kTombstone) f(reinterpret_cast<void*>(slots_[i]));
  }
  bool overflowed() const { return overflow_; }

 private:
  static constexpr size_t kSlots = size_t(1) << 18;
  static constexpr uintptr_t kEmpty = 0, kTombstone = 1;
  static size_t slot_of(void* p) { return size_t((uintptr_t(p) >> 4) * 0x9E3779B97F4A7C15ull >> (64 - 18)); }
  void lock() {
    while (lock_.test_and_set(std::memory_order_acquire)) {
    }
  }
  void unlock() { lock_.clear(std::memory_order_release); }

  std::atomic_flag lock_ = ATOMIC_FLAG_INIT;
  uintptr_t slots_[kSlots] = {};
  size_t used_ = 0;  // slots not empty (live or tombstone)
  std::atomic<size_t> live_{0};
  bool overflow_ = false;
};
LiveSet g_live;

}  // namespace

// A place for a debugger to stop when the injected failure happens:
// `break loci_test_injected_failure`.
extern "C" __attribute__((noinline)) void loci_test_injected_failure() { asm volatile(""); }

namespace {

// Counts one allocation of `n` bytes; false if it is the one to fail.
inline bool note(size_t n) {
  if (!g_counting.load(std::memory_order_relaxed)) return true;
  const size_t index = g_count.fetch_add(1, std::memory_order_relaxed) + 1;
  size_t largest = g_largest.load(std::memory_order_relaxed);
  while (n > largest && !g_largest.compare_exchange_weak(largest, n)) {
  }
  if (index == g_fail_at.load(std::memory_order_relaxed)) {
    g_failed.store(true);
    errno = ENOMEM;  // as a real failure sets it; glibc asserts on it
    loci_test_injected_failure();
    return false;
  }
  return true;
}

// Records a block that came back from a counted allocation.
inline void* track(void* p) {
  if (p && g_counting.load(std::memory_order_relaxed)) g_live.insert(p);
  return p;
}

}  // namespace

extern "C" {
void* malloc(size_t n) {
  if (!note(n)) return nullptr;
  return track(__libc_malloc(n));
}
void* calloc(size_t a, size_t b) {
  if (!note(a * b)) return nullptr;
  return track(__libc_calloc(a, b));
}
void* realloc(void* p, size_t n) {
  if (!note(n)) return nullptr;  // p stays valid, as a real failure leaves it
  void* q = __libc_realloc(p, n);
  if (!q && n != 0) return nullptr;  // p stays valid
  // glibc's realloc(p, 0) frees p. A tracked block stays tracked under its
  // new address; a fresh block made while counting is tracked too.
  const bool was_tracked = p && g_live.erase(p);
  if (q && (was_tracked || (!p && g_counting.load(std::memory_order_relaxed)))) g_live.insert(q);
  return q;
}
void free(void* p) {
  if (p) g_live.erase(p);
  __libc_free(p);
}
void* memalign(size_t align, size_t n) {
  if (!note(n)) return nullptr;
  return track(__libc_memalign(align, n));
}
void* aligned_alloc(size_t align, size_t n) {
  if (!note(n)) return nullptr;
  return track(__libc_memalign(align, n));
}
int posix_memalign(void** out, size_t align, size_t n) {
  if (!note(n)) return ENOMEM;
  void* p = __libc_memalign(align, n);
  if (!p) return ENOMEM;
  *out = track(p);
  return 0;
}
}

namespace loci::test {

void start_counting_allocations() {
  g_live.clear();
  g_count.store(0);
  g_failed.store(false);
  g_largest.store(0);
  g_counting.store(true);
}

size_t stop_counting_allocations() {
  g_counting.store(false);
  g_fail_at.store(0);
  return g_count.load();
}

void fail_allocation_number(size_t n) { g_fail_at.store(n); }
bool injected_failure_happened() { return g_failed.load(); }
size_t live_counted_blocks() { return g_live.live(); }
size_t largest_counted_request() { return g_largest.load(); }
bool live_tracking_overflowed() { return g_live.overflowed(); }
void debug_dump_live(void (*f)(void*)) { g_live.for_each(f); }

}  // namespace loci::test
