// Where loci's large blocks come from. Every block loci sizes from a model
// (session arenas, tensors, in-memory file copies) goes through
// aligned_alloc_or_null(), which calls these hooks when set, so firmware can
// place that memory itself. Small bookkeeping uses the C++ heap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "loci/status.h"

namespace loci {

struct HeapHooks {
  void* user = nullptr;
  // Returns `size` bytes aligned to `alignment` (a power of two), or null.
  void* (*alloc)(void* user, size_t size, size_t alignment) = nullptr;
  // Receives what alloc returned, with the same size.
  void (*free)(void* user, void* p, size_t size) = nullptr;
};

// Installs hooks (copied), or the default aligned malloc for null. Refused
// while blocks from the current hooks are live: they must go back to the
// allocator that made them.
Status set_heap_hooks(const HeapHooks* hooks);
// Blocks allocated and not yet freed.
size_t heap_live_blocks();

// Aligned allocation that reports failure instead of throwing. `alignment` is
// a power of two up to 4096.
void* aligned_alloc_or_null(size_t bytes, size_t alignment = 64);
void aligned_free(void* p);

// A fixed-size array of plain values in one block from aligned_alloc_or_null,
// for buffers sized from the model (so they go through the heap hooks).
template <typename T>
class HeapArray {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  // Replaces the contents with n copies of `fill`; false if the allocator
  // refuses (or n elements would not fit in size_t).
  bool allocate(size_t n, const T& fill = T()) {
    if (n > SIZE_MAX / sizeof(T)) return false;
    T* p = static_cast<T*>(aligned_alloc_or_null(n * sizeof(T)));
    if (!p) return false;
    for (size_t i = 0; i < n; ++i) p[i] = fill;
    p_.reset(p);
    n_ = n;
    return true;
  }
  T* data() { return p_.get(); }
  const T* data() const { return p_.get(); }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  T& operator[](size_t i) { return p_[i]; }
  const T& operator[](size_t i) const { return p_[i]; }
  T* begin() { return data(); }
  T* end() { return data() + n_; }

 private:
  struct Free {
    void operator()(T* p) const { aligned_free(p); }
  };
  std::unique_ptr<T[], Free> p_;
  size_t n_ = 0;
};

}  // namespace loci
