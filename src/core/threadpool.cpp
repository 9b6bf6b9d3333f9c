// loci's worker pool. Not pthreadpool: its create() waits forever when a
// pthread_create fails (out of memory or threads), and its static split makes
// every loop wait for a worker the OS has descheduled. Here items are claimed
// one at a time, so the calling thread finishes the loop alone if it must,
// and a failed thread start is a clean kOutOfMemory.
#include "loci/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <new>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace loci {

namespace {

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// Polls before sleeping: the gap between two loops of one token is a few
// microseconds, far less than a futex wake-up.
constexpr int kSpinsBeforeSleep = 4000;
constexpr int kSpinsBeforeYield = 200;

constexpr uint32_t generation_of(uint64_t state) { return uint32_t(state >> 32); }
constexpr uint64_t kExhausted = UINT32_MAX;  // a next index no loop reaches (n <= UINT32_MAX)
constexpr uint32_t next_index_of(uint64_t state) { return uint32_t(state); }

size_t online_cores() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? size_t(n) : 1;
}

}  // namespace

struct ThreadPool::Impl {
  // The current loop. A worker reads task and ctx only after claiming an
  // item of the generation they belong to; atomics because a late worker
  // may read the next loop's values before its claim fails.
  std::atomic<void (*)(void*, size_t)> task{nullptr};
  std::atomic<void*> ctx{nullptr};
  std::atomic<uint32_t> n{0};
  // generation << 32 | next unclaimed index.
  std::atomic<uint64_t> state{0};
  std::atomic<uint32_t> done{0};

  std::atomic<bool> stop{false};
  std::atomic<int> sleepers{0};
  std::mutex mutex;
  std::condition_variable wake;

  pthread_t* workers = nullptr;
  size_t n_workers = 0;

  ~Impl() { delete[] workers; }

  // Claims the next item of loop `gen`; false when it is finished or gone.
  bool claim(uint32_t gen, size_t* index) {
    uint64_t s = state.load(std::memory_order_acquire);
    for (;;) {
      if (generation_of(s) != gen || next_index_of(s) >= n.load(std::memory_order_acquire)) return false;
      if (state.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        *index = next_index_of(s);
        return true;
      }
    }
  }

  void work_on(uint32_t gen) {
    size_t i;
    while (claim(gen, &i)) {
      task.load(std::memory_order_relaxed)(ctx.load(std::memory_order_relaxed), i);
      done.fetch_add(1, std::memory_order_release);
    }
  }

  // Returns the generation after `seen`, or `seen` when told to stop.
  uint32_t wait_for_loop(uint32_t seen) {
    for (int spin = 0; spin < kSpinsBeforeSleep; ++spin) {
      if (stop.load(std::memory_order_acquire)) return seen;
      const uint32_t gen = generation_of(state.load(std::memory_order_acquire));
      if (gen != seen) return gen;
      cpu_relax();
    }
    std::unique_lock<std::mutex> lock(mutex);
    sleepers.fetch_add(1);
    wake.wait(lock, [&] { return stop.load() || generation_of(state.load()) != seen; });
    sleepers.fetch_sub(1);
    return stop.load() ? seen : generation_of(state.load());
  }

  static void* worker_main(void* arg) {
    Impl* self = static_cast<Impl*>(arg);
    // Generation 0 is the state at create(); loops start at 1. A worker that
    // starts late still joins the loops published before it ran.
    uint32_t seen = 0;
    for (;;) {
      const uint32_t gen = self->wait_for_loop(seen);
      if (gen == seen) return nullptr;
      seen = gen;
      self->work_on(gen);
    }
  }

  void wake_sleepers() {
    // seq_cst on both sides: either the worker sees the new state before it
    // sleeps, or this sees its sleepers count and takes the lock to notify.
    if (sleepers.load() == 0) return;
    { std::lock_guard<std::mutex> lock(mutex); }
    wake.notify_all();
  }

  void stop_and_join(size_t started) {
    stop.store(true);
    { std::lock_guard<std::mutex> lock(mutex); }
    wake.notify_all();
    for (size_t i = 0; i < started; ++i) pthread_join(workers[i], nullptr);
  }
};

Result<std::unique_ptr<ThreadPool>> ThreadPool::create(size_t threads) {
  if (threads == 0) threads = online_cores();
  std::unique_ptr<Impl> impl(new (std::nothrow) Impl());
  std::unique_ptr<ThreadPool> pool(new (std::nothrow) ThreadPool(nullptr));
  if (!impl || !pool) return out_of_memory("thread pool: cannot allocate");
  if (threads > 1) {
    impl->workers = new (std::nothrow) pthread_t[threads - 1];
    if (!impl->workers) return out_of_memory("thread pool: cannot allocate");
    // Workers block every signal, so the application's handlers keep running
    // on its own threads (new threads inherit the creator's mask).
    sigset_t all, caller;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &caller);
    for (size_t i = 0; i + 1 < threads; ++i) {
      const int err = pthread_create(&impl->workers[i], nullptr, &Impl::worker_main, impl.get());
      if (err != 0) {
        pthread_sigmask(SIG_SETMASK, &caller, nullptr);
        impl->stop_and_join(i);
        return out_of_memory("thread pool: cannot start thread " + std::to_string(i + 2) + " of " +
                             std::to_string(threads) + " (pthread_create error " + std::to_string(err) + ")");
      }
      impl->n_workers = i + 1;
    }
    pthread_sigmask(SIG_SETMASK, &caller, nullptr);
  }
  pool->impl_ = impl.release();
  return pool;
}

ThreadPool::~ThreadPool() {
  Impl* impl = static_cast<Impl*>(impl_);
  if (!impl) return;  // create() failed before the workers existed
  impl->stop_and_join(impl->n_workers);
  delete impl;
}

size_t ThreadPool::threads() const { return static_cast<const Impl*>(impl_)->n_workers + 1; }

void ThreadPool::run(size_t n, void (*task)(void*, size_t), void* ctx) {
  Impl& p = *static_cast<Impl*>(impl_);
  if (p.n_workers == 0 || n <= 1 || n > UINT32_MAX) {
    for (size_t i = 0; i < n; ++i) task(ctx, i);
    return;
  }
  // Close the last loop before touching its fields: a worker that read its
  // state but has not claimed yet would otherwise take an item numbered
  // against the new n. Once it sees the new n (acquire), its claim sees
  // this exhausted index, or a newer generation, and fails.
  const uint64_t last = p.state.load(std::memory_order_relaxed);
  p.state.store(last | kExhausted, std::memory_order_relaxed);
  p.task.store(task, std::memory_order_relaxed);
  p.ctx.store(ctx, std::memory_order_relaxed);
  p.done.store(0, std::memory_order_relaxed);
  p.n.store(uint32_t(n), std::memory_order_release);
  const uint32_t gen = generation_of(last) + 1;
  p.state.store(uint64_t(gen) << 32);  // publishes the fields above
  p.wake_sleepers();
  p.work_on(gen);
  // Items other threads claimed: wait for them, yielding the core to them
  // when the machine is busy.
  for (int spin = 0; p.done.load(std::memory_order_acquire) < n; ++spin) {
    if (spin < kSpinsBeforeYield) {
      cpu_relax();
    } else {
      sched_yield();
    }
  }
}

}  // namespace loci
