#include "failpath.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

namespace loci::test {
namespace {

constexpr int kChildTimeoutMs = 15000;  // far above a normal run (< 0.1 s natively)
constexpr double kBudgetSeconds = 60;   // for one sweep, before it strides
constexpr size_t kDense = 300;          // values of N always tried

// Runs the scenario, turning an escaping exception into a problem.
Verdict run_scenario(const Scenario& scenario, size_t n) {
  try {
    return scenario(n);
  } catch (const std::exception& e) {
    return {std::string("BAD: exception escaped the scenario: ") + e.what(), 0};
  } catch (...) {
    return {"BAD: unknown exception escaped the scenario", 0};
  }
}

// Runs scenario(n) in a child; returns its verdict, or how it died.
Verdict run_in_child(const Scenario& scenario, size_t n) {
  int fds[2];
  if (::pipe(fds) != 0) return {"BAD: pipe failed", 0};
  std::fflush(nullptr);  // nothing buffered may be written twice
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return {"BAD: fork failed", 0};
  }
  if (pid == 0) {
    ::close(fds[0]);
    const Verdict v = run_scenario(scenario, n);
    const std::string line = v.verdict + "\t" + std::to_string(v.allocations);
    ssize_t ignored = ::write(fds[1], line.data(), line.size());
    (void)ignored;
    ::_exit(0);  // no atexit handlers or static destructors of the parent's state
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kChildTimeoutMs);
  bool hung = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      hung = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, int(left.count())) <= 0) continue;
    const ssize_t got = ::read(fds[0], buf, sizeof buf);
    if (got <= 0) break;
    out.append(buf, size_t(got));
  }
  ::close(fds[0]);
  if (hung) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (hung) return {"BAD: hung (killed after " + std::to_string(kChildTimeoutMs / 1000) + " s)", 0};
  if (WIFSIGNALED(status))
    return {"BAD: killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")", 0};
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return {"BAD: exited with status " + std::to_string(WEXITSTATUS(status)), 0};
  const size_t tab = out.rfind('\t');
  if (tab == std::string::npos) return {"BAD: reported nothing", 0};
  return {out.substr(0, tab), size_t(std::strtoull(out.c_str() + tab + 1, nullptr, 10))};
}

void record(SweepResult& r, size_t n, const std::string& verdict) {
  ++r.runs;
  if (verdict.rfind("BAD", 0) == 0)
    r.problems.push_back("N=" + std::to_string(n) + ": " + verdict);
  else if (++r.counts[verdict] <= 10 && verdict != "oom")
    r.which[verdict].push_back(n);
}

}  // namespace

SweepResult sweep(const char* name, const Scenario& scenario) {
  const auto t0 = std::chrono::steady_clock::now();
  SweepResult r;
  // A clean run here warms one-time state up (lazy statics, glibc's thread
  // stack cache), so children inherit it and do not count it as a leak. Two
  // clean runs in children must then agree, or N would not name the same
  // allocation from run to run.
  const Verdict warm = run_scenario(scenario, 0);
  if (warm.verdict.rfind("BAD", 0) == 0)
    std::printf("%s: warm-up run (one-time state, such as glibc's thread stack cache, may stay live): %s\n", name,
                warm.verdict.c_str());
  const auto t_clean = std::chrono::steady_clock::now();
  const Verdict a = run_in_child(scenario, 0);
  const Verdict b = run_in_child(scenario, 0);
  const double per_run =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_clean).count() / 2;
  if (a.verdict != "ok") r.problems.push_back("clean run: " + a.verdict);
  if (a.allocations != b.allocations)
    r.problems.push_back("clean runs counted " + std::to_string(a.allocations) + " and " +
                         std::to_string(b.allocations) + " allocations");
  r.total = b.allocations;
  // Over budget: every N up to kDense, then a stride that fits the rest.
  const double affordable = kBudgetSeconds / std::max(per_run, 1e-6);
  if (!std::getenv("LOCI_FAILPATH_ALL") && double(r.total) > affordable && r.total > kDense) {
    const double rest = std::max(affordable - double(kDense), 1.0);
    r.stride = size_t(std::ceil(double(r.total - kDense) / rest));
  }
  if (const char* at = std::getenv("LOCI_FAILPATH_AT")) {
    const size_t n = std::strtoull(at, nullptr, 10);
    const Verdict v = run_scenario(scenario, n);  // in this process, for gdb
    std::printf("%s: N=%zu in-process: %s (%zu allocations)\n", name, n, v.verdict.c_str(), v.allocations);
    record(r, n, v.verdict);
  } else {
    size_t last = 0;
    for (size_t n = 1; n <= r.total; n += (n < kDense ? 1 : r.stride)) {
      record(r, n, run_in_child(scenario, n).verdict);
      last = n;
    }
    if (last != r.total) record(r, r.total, run_in_child(scenario, r.total).verdict);  // the last one, always
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("sweep %s: %zu allocations in a clean run, %zu values of N tried in %.1f s%s:", name, r.total, r.runs,
              r.seconds,
              r.stride > 1 ? (" (every N to " + std::to_string(kDense) + ", then every " + std::to_string(r.stride) +
                              "th: over the time budget)").c_str()
                           : " (every N)");
  for (const auto& [verdict, count] : r.counts) std::printf(" %s %zu,", verdict.c_str(), count);
  std::printf(" problems %zu\n", r.problems.size());
  for (const auto& [verdict, ns] : r.which) {
    std::printf("  %s at N =", verdict.c_str());
    for (size_t n : ns) std::printf(" %zu", n);
    std::printf("%s\n", r.counts[verdict] > ns.size() ? " ..." : "");
  }
  for (size_t i = 0; i < r.problems.size() && i < 40; ++i) std::printf("  %s\n", r.problems[i].c_str());
  std::fflush(stdout);
  return r;
}

std::string first_problems(const SweepResult& r, size_t max) {
  std::string s;
  for (size_t i = 0; i < r.problems.size() && i < max; ++i) s += r.problems[i] + "\n";
  if (r.problems.size() > max) s += "... and " + std::to_string(r.problems.size() - max) + " more\n";
  return s;
}

}  // namespace loci::test
