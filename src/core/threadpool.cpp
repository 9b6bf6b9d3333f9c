#include "loci/threadpool.h"

#include <pthreadpool.h>

#include <new>

namespace loci {

Result<std::unique_ptr<ThreadPool>> ThreadPool::create(size_t threads) {
  pthreadpool_t impl = pthreadpool_create(threads);
  if (!impl) return out_of_memory("thread pool: cannot start " + std::to_string(threads) + " threads");
  std::unique_ptr<ThreadPool> pool(new (std::nothrow) ThreadPool(impl));
  if (!pool) {
    pthreadpool_destroy(impl);
    return out_of_memory("thread pool: cannot allocate");
  }
  return pool;
}

ThreadPool::~ThreadPool() { pthreadpool_destroy(static_cast<pthreadpool_t>(impl_)); }

size_t ThreadPool::threads() const { return pthreadpool_get_threads_count(static_cast<pthreadpool_t>(impl_)); }

void ThreadPool::run(size_t n, void (*task)(void*, size_t), void* ctx) {
  pthreadpool_parallelize_1d(static_cast<pthreadpool_t>(impl_), task, ctx, n, 0);
}

}  // namespace loci
