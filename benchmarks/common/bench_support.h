// Shared pieces of loci's benchmark tools: the products and shapes measured,
// random but valid weights, cold-weight pools, and one matmul call set up once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "loci/dtype.h"
#include "loci/matmul.h"
#include "loci/status.h"
#include "loci/tensor.h"
#include "loci/threadpool.h"

namespace loci::bench {

// Every weight dtype with a matmul product, in the order tables print them.
inline constexpr DType kWeightTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1,
                                         DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q2_K, DType::Q3_K,
                                         DType::Q4_K, DType::Q5_K, DType::Q6_K};

// The weight shapes of a 1B Llama (hidden 2048, FFN 8192): n rows of k elements.
struct Shape {
  size_t n, k;
};
inline constexpr Shape kLlama1BShapes[] = {{2048, 2048}, {8192, 2048}, {2048, 8192}};
inline constexpr size_t kBatchSizes[] = {1, 8, 64, 512};

// Instruction-set levels of this binary's architecture that the host runs, lowest first.
std::vector<Isa> host_isas();

// Fills `rows` rows of `k` elements of `dtype` (rows `row_bytes` apart) with
// random but valid data: floats in [-1, 1]; quantized blocks of random bytes
// whose fp16 scales and mins are overwritten with small finite values.
Status fill_random_weights(DType dtype, size_t rows, size_t k, void* data, size_t row_bytes, std::mt19937_64& rng);

// Aligned, padded bytes from loci's allocator.
struct AlignedFree {
  void operator()(void* p) const { aligned_free(p); }
};
using AlignedBuffer = std::unique_ptr<uint8_t, AlignedFree>;
AlignedBuffer allocate_aligned(size_t bytes);  // null on failure

// Memory reused by successive weight pools, so each new pool does not fault
// in a gigabyte of fresh pages (seconds of kernel time per pool).
class Arena {
 public:
  uint8_t* get(size_t bytes);  // at least `bytes`, 64-byte aligned; null on failure
 private:
  AlignedBuffer buffer_;
  size_t bytes_ = 0;
};

// Copies of one n x k weight matrix, walked round-robin by the benchmarks.
// Real inference streams every matrix from DRAM (a 1B model is far larger than
// the caches), so a benchmark that re-read one cache-resident copy would
// overstate GB/s; `pool_bytes` of copies keeps each call's weights cold.
class WeightPool {
 public:
  // At least one copy; as many as fit in pool_bytes (pool_bytes 0: one copy, "hot").
  // With an arena the copies live there (and die with its next use); else the pool owns them.
  static Result<WeightPool> create(DType dtype, size_t n, size_t k, size_t pool_bytes, uint64_t seed,
                                   Arena* arena = nullptr);

  size_t copies() const { return copies_; }
  size_t matrix_bytes() const { return matrix_bytes_; }  // bytes of one copy's weights
  const TensorView& view(size_t i) const { return views_[i % copies_]; }
  // The next copy, round-robin.
  const TensorView& next() { return views_[next_++ % copies_]; }
  // Copy i's weights as floats; only for f32 pools (the peers read these).
  const float* f32_data(size_t i) const { return static_cast<const float*>(view(i).data); }

 private:
  AlignedBuffer buffer_;
  std::vector<TensorView> views_;
  size_t copies_ = 0, matrix_bytes_ = 0, next_ = 0;
};

// Default size of a cold pool: 1 GiB, or twice the last-level cache if larger.
size_t default_cold_pool_bytes();

// One matmul y = x * W^T of m rows set up once (activations, output, workspace),
// run against any weight view of the right dtype and shape.
class MatmulCall {
 public:
  static Result<MatmulCall> create(DType dtype, size_t m, size_t n, size_t k, uint64_t seed);
  Status run(const TensorView& w, ThreadPool* pool);

  size_t m() const { return m_; }
  const float* x() const { return x_.data(); }
  float* y() { return y_.data(); }

 private:
  size_t m_ = 0, n_ = 0, k_ = 0;
  std::vector<float> x_, y_;
  AlignedBuffer workspace_;
  size_t workspace_bytes_ = 0;
};

// 2*m*n*k: one multiply and one add per weight element per activation row.
inline double matmul_ops(size_t m, size_t n, size_t k) { return 2.0 * double(m) * double(n) * double(k); }

double seconds_since(std::chrono::steady_clock::time_point t0);
// CPU time used by the calling thread so far (falls back to wall time where
// the platform has no per-thread clock).
double thread_cpu_seconds();
double median(std::vector<double> v);

// "q4_0" etc., and the inverse for command-line lists.
std::vector<DType> parse_dtype_list(const std::string& csv, std::string* error);
std::vector<size_t> parse_size_list(const std::string& csv, std::string* error);

// Host description: CPU name, cores, last-level cache bytes (0 if unknown).
struct HostInfo {
  std::string cpu_name;
  size_t cores = 0;
  size_t llc_bytes = 0;
};
HostInfo host_info();

}  // namespace loci::bench
