// Machine ceilings, measured rather than looked up, so a kernel's numbers can be
// read as a fraction of what this machine can do at all.
//
// Memory bandwidth: one large buffer (default 1 GiB, far past the caches) is
//   read end to end, split into equal contiguous parts, one per thread, with
//   the widest loads the host has (AVX-512 on x86 when present, in a file built
//   with only the AVX-512 flags); bytes / wall time of the whole pass.
// Clock: a dependent chain of 1-cycle register-register integer adds runs one
//   add per cycle, so adds per second of the thread's CPU time is the core clock. It runs scalar code: a CPU that slows
//   down for wide vector code will show a peak above what it reaches then.
// Compute peak: a loop of one vector instruction (vpdpbusd zmm for int8,
//   vfmadd231ps for f32; sdot / fmla on Arm) into 16 independent accumulators,
//   so latency never limits it. instructions per cycle = rate / clock, and
//   peak = cores x instructions per cycle x ops per instruction x clock,
//   where vpdpbusd zmm does 64 multiply-adds = 128 ops.
// Ceilings report the best of several repetitions: other work on the machine
// can only slow a run down, never speed it up. The one-core loops (clock and
// peak) are timed in thread CPU time, so time-slicing with other processes
// does not count; bandwidth is wall time over all threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "common/bench_support.h"
#include "loci/status.h"
#include "loci/threadpool.h"

namespace loci::bench {

// A buffer read end to end by one or more threads.
class ReadBandwidth {
 public:
  // Allocates and writes `bytes` (rounded down to whole 4 KiB pages), so no
  // page fault lands inside a timed pass.
  static Result<ReadBandwidth> create(size_t bytes);

  // One full pass over the buffer, split into `parts` contiguous pieces run on
  // `pool` (inline when null). Returns the seconds it took.
  double pass(ThreadPool* pool, size_t parts);
  size_t bytes() const { return bytes_; }
  const char* loads() const;  // which read loop runs, for the output
  // What the last pass read, folded (xor of the parts' results); keeping it
  // makes the reads observable, so none can be elided.
  uint64_t checksum() const { return checksum_; }
  uint8_t* data() { return buffer_.get(); }  // for tests

 private:
  AlignedBuffer buffer_;
  size_t bytes_ = 0;
  uint64_t checksum_ = 0;
};

// The best of `reps` passes, in bytes per second.
double measure_read_bandwidth(ReadBandwidth& buf, ThreadPool* pool, size_t parts, int reps);

// Runs iters x 64 dependent adds and returns how many adds ran.
uint64_t run_add_chain(uint64_t iters);
// Adds per second of the chain: the clock in Hz (best of reps, ~seconds each
// of this thread's CPU time).
double measure_clock_hz(double seconds, int reps);
#if defined(__x86_64__)
// A second clock probe for cross-checking: 64 dependent imuls (3 cycles each)
// per iteration; returns the cycles they take.
uint64_t run_imul_chain(uint64_t iters);
#endif

// A throughput loop of one instruction.
struct PeakLoop {
  const char* instruction;     // "vpdpbusd zmm"
  double ops_per_instruction;  // multiply and add counted as 2
  uint64_t (*run)(uint64_t iters);  // returns instructions executed
};
// int8 dot products: vpdpbusd zmm (AVX-512 VNNI) or sdot (Arm dotprod).
std::optional<PeakLoop> int8_peak_loop();
// f32 fused multiply-add at the widest width the host has.
std::optional<PeakLoop> f32_peak_loop();

struct ComputePeak {
  std::string instruction;
  double ops_per_instruction = 0;
  double instructions_per_cycle = 0;  // one core
  double clock_hz = 0;
  double per_core_ops() const { return instructions_per_cycle * ops_per_instruction * clock_hz; }
  double ops(size_t cores) const { return double(cores) * per_core_ops(); }
};
// One core's rate of `loop` (best of reps, ~seconds of CPU time each) against the clock.
ComputePeak measure_compute_peak(const PeakLoop& loop, double clock_hz, double seconds, int reps);

}  // namespace loci::bench
