#include "loci/heap.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <mutex>

namespace loci {
namespace {

// Each block starts with a header slot (one alignment unit) recording what
// the hooks need to free it, so aligned_free() takes only the pointer.
struct BlockHeader {
  size_t total;   // bytes asked of the allocator
  size_t offset;  // from the allocator's pointer to the caller's
};

void* default_alloc(void*, size_t size, size_t alignment) { return std::aligned_alloc(alignment, size); }
void default_free(void*, void* p, size_t) { std::free(p); }

std::mutex g_mutex;  // guards swapping the hooks against live blocks
HeapHooks g_hooks{nullptr, default_alloc, default_free};
std::atomic<size_t> g_live{0};

}  // namespace

Status set_heap_hooks(const HeapHooks* hooks) {
  if (hooks && (!hooks->alloc || !hooks->free)) return invalid_argument("heap hooks: alloc and free are both needed");
  std::lock_guard<std::mutex> lock(g_mutex);
  if (const size_t live = g_live.load()) {
    return invalid_argument("heap hooks: " + std::to_string(live) +
                            " blocks from the current allocator are still live; free every model, session and "
                            "tensor first");
  }
  g_hooks = hooks ? *hooks : HeapHooks{nullptr, default_alloc, default_free};
  return Status::ok();
}

size_t heap_live_blocks() { return g_live.load(); }

void* aligned_alloc_or_null(size_t bytes, size_t alignment) {
  if (alignment < alignof(BlockHeader) || (alignment & (alignment - 1)) || alignment > 4096) return nullptr;
  if (bytes == 0) bytes = 1;
  const size_t header = alignment < sizeof(BlockHeader) ? sizeof(BlockHeader) : alignment;
  if (bytes > std::numeric_limits<size_t>::max() - header - alignment) return nullptr;
  // aligned_alloc wants a multiple of the alignment.
  const size_t total = (header + bytes + alignment - 1) / alignment * alignment;
  void* raw = g_hooks.alloc(g_hooks.user, total, alignment);
  if (!raw) return nullptr;
  if (reinterpret_cast<uintptr_t>(raw) % alignment) {  // a caller allocator that ignored the alignment
    g_hooks.free(g_hooks.user, raw, total);
    return nullptr;
  }
  g_live.fetch_add(1);
  uint8_t* p = static_cast<uint8_t*>(raw) + header;
  auto* h = reinterpret_cast<BlockHeader*>(p - sizeof(BlockHeader));
  h->total = total;
  h->offset = header;
  return p;
}

void aligned_free(void* p) {
  if (!p) return;
  const auto* h = reinterpret_cast<const BlockHeader*>(static_cast<uint8_t*>(p) - sizeof(BlockHeader));
  const size_t total = h->total;
  void* raw = static_cast<uint8_t*>(p) - h->offset;
  g_hooks.free(g_hooks.user, raw, total);
  g_live.fetch_sub(1);
}

}  // namespace loci
