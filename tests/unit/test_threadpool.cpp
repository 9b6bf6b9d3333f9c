// loci's ThreadPool: every item of every loop runs exactly once, before
// run() returns, however short the loops and however they follow each other.
#include <catch2/catch.hpp>

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "loci/threadpool.h"
#include "support/test_support.h"

using namespace loci;

namespace {

std::unique_ptr<ThreadPool> make_pool(size_t threads) {
  Result<std::unique_ptr<ThreadPool>> p = ThreadPool::create(threads);
  REQUIRE(p.is_ok());
  return std::move(p).value();
}

}  // namespace

TEST_CASE("thread pool: back-to-back loops run each item once, all before run returns", "[threadpool]") {
  std::mt19937_64 g = test::rng(0x7001);
  for (size_t threads : {1, 2, 3, 4}) {
    INFO(threads << " threads");
    auto pool = make_pool(threads);
    CHECK(pool->threads() == threads);
    size_t bad = 0;
    // Tiny loops back to back are where a late worker meets the next loop.
    for (int loop = 0; loop < 20000; ++loop) {
      const size_t n = std::uniform_int_distribution<size_t>(0, 40)(g);
      // Fresh per loop, on this frame: a late item would write to a dead one
      // (ASan) or be missing from this one.
      std::vector<std::atomic<int>> runs(n);
      pool->parallel_for(n, [&](size_t i) { runs[i].fetch_add(1, std::memory_order_relaxed); });
      for (size_t i = 0; i < n; ++i) bad += runs[i].load(std::memory_order_relaxed) != 1;
    }
    CHECK(bad == 0);
  }
}

TEST_CASE("thread pool: a loop's work is shared with the workers", "[threadpool]") {
  auto pool = make_pool(2);
  // Each item waits (up to 10 s) until both have started, which only happens
  // if a worker takes one while the caller holds the other.
  std::atomic<int> started{0};
  std::atomic<bool> both{false};
  pool->parallel_for(2, [&](size_t) {
    started.fetch_add(1);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (started.load() < 2 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    if (started.load() == 2) both = true;
  });
  CHECK(both.load());
}

TEST_CASE("thread pool: zero threads means one per core", "[threadpool]") {
  auto pool = make_pool(0);
  CHECK(pool->threads() >= 1);
}

TEST_CASE("thread pool: workers block signals and leave the caller's mask alone", "[threadpool]") {
  sigset_t caller_before;
  REQUIRE(pthread_sigmask(SIG_BLOCK, nullptr, &caller_before) == 0);
  REQUIRE(sigismember(&caller_before, SIGINT) == 0);
  auto pool = make_pool(2);
  // Two items that wait for each other, so one runs on the worker; each
  // records its thread's mask.
  std::atomic<int> started{0};
  bool on_worker[2] = {false, false}, blocks_int[2] = {false, false}, blocks_term[2] = {false, false};
  const std::thread::id caller = std::this_thread::get_id();
  pool->parallel_for(2, [&](size_t i) {
    started.fetch_add(1);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (started.load() < 2 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    sigset_t mine;
    pthread_sigmask(SIG_BLOCK, nullptr, &mine);
    on_worker[i] = std::this_thread::get_id() != caller;
    blocks_int[i] = sigismember(&mine, SIGINT) == 1;
    blocks_term[i] = sigismember(&mine, SIGTERM) == 1;
  });
  REQUIRE(on_worker[0] != on_worker[1]);
  for (int i = 0; i < 2; ++i) {
    CHECK(blocks_int[i] == on_worker[i]);
    CHECK(blocks_term[i] == on_worker[i]);
  }
  sigset_t caller_after;
  REQUIRE(pthread_sigmask(SIG_BLOCK, nullptr, &caller_after) == 0);
  CHECK(sigismember(&caller_after, SIGINT) == 0);
}
