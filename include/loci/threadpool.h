// A fixed-size worker pool for loci's parallel loops (src/core/threadpool.cpp).
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>

#include "loci/status.h"

namespace loci {

class ThreadPool {
 public:
  // threads == 0 means one per core. Threads start here and never per call; a
  // thread that cannot start is kOutOfMemory, with none left running.
  static Result<std::unique_ptr<ThreadPool>> create(size_t threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t threads() const;

  // Calls task(ctx, i) for every i in [0, n), spread over the pool, and returns
  // when all are done. Which thread runs which i is unspecified, so callers keep
  // results independent of it.
  void run(size_t n, void (*task)(void* ctx, size_t i), void* ctx);

  template <typename F>
  void parallel_for(size_t n, F&& f) {
    run(n, [](void* c, size_t i) { (*static_cast<std::remove_reference_t<F>*>(c))(i); }, &f);
  }

 private:
  struct Impl;
  explicit ThreadPool(void* impl) : impl_(impl) {}
  void* impl_;
};

// Runs on `pool`, or inline on the calling thread when pool is null.
template <typename F>
void parallel_for(ThreadPool* pool, size_t n, F&& f) {
  if (pool) {
    pool->parallel_for(n, f);
  } else {
    for (size_t i = 0; i < n; ++i) f(i);
  }
}

}  // namespace loci
