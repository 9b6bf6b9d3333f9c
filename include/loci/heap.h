// Where loci's large blocks come from. Every block loci sizes from a model
// (session arenas, tensors, in-memory file copies) goes through
// aligned_alloc_or_null(), which calls these hooks when set, so firmware can
// place that memory itself. Small bookkeeping uses the C++ heap.
#pragma once

#include <cstddef>

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

}  // namespace loci
