// Failure-injection sweeps: count the allocations of a clean call, then for
// every N make allocation N fail, each in a forked child so that a crash or
// hang at one N is reported with its N and the sweep goes on.
//
// Every N is tried when that takes under a minute (the clean runs are timed);
// otherwise every N up to 300 and then every k-th, k chosen to fit the
// minute (under qemu, say), and the summary line says so.
// LOCI_FAILPATH_ALL=1 always tries every N.
//
// Replaying one N without fork (for gdb): LOCI_FAILPATH_AT=N runs only that
// N, in the test process, in every sweep; `break loci_test_injected_failure`
// stops where it fails. LOCI_FAILPATH_DEBUG=1 prints the live blocks a leak
// check finds (address, size, first bytes).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "malloc_counter.h"

namespace loci::test {

// What one run of a scenario reports. `verdict` is "ok" (the call succeeded
// and its result checked out), "oom" (it failed cleanly with out-of-memory),
// another word for an accepted outcome ("bad_alloc" where the C++ API lets
// std::bad_alloc out), "unreached" (fewer than N allocations happened), or
// "BAD: why" for a broken rule.
struct Verdict {
  std::string verdict;
  size_t allocations = 0;  // counted in the window
};
// Runs the call under test with allocation n failing (0: none).
using Scenario = std::function<Verdict(size_t n)>;

struct SweepResult {
  size_t total = 0;                      // allocations of a clean run
  size_t runs = 0;                       // values of N tried
  std::map<std::string, size_t> counts;  // accepted verdicts
  std::map<std::string, std::vector<size_t>> which;  // the first values of N of each verdict but "oom"
  std::vector<std::string> problems;     // "N=12: why", crashes and hangs included
  size_t stride = 1;                     // 1: every N was tried
  double seconds = 0;
};

// Sweeps N over 1..total. Prints a summary line.
SweepResult sweep(const char* name, const Scenario& scenario);

// Opens a counting window with allocation n failing; close() ends it.
class FailureWindow {
 public:
  explicit FailureWindow(size_t n) {
    fail_allocation_number(n);
    start_counting_allocations();
  }
  ~FailureWindow() { close(); }
  size_t close() {
    if (open_) count_ = stop_counting_allocations();
    open_ = false;
    return count_;
  }

 private:
  bool open_ = true;
  size_t count_ = 0;
};

// The first problems, one per line, for a failure message.
std::string first_problems(const SweepResult& r, size_t max = 20);

}  // namespace loci::test
