// The end-to-end benchmark behind `loci bench`: prefill (pp) and decode (tg)
// speed of whole models, measured the way llama-bench measures them, with the
// machine's read bandwidth from the same run so decode can be read as a
// fraction of what the memory allows.
//
// A pp test evaluates n_prompt random tokens in one call on an empty cache; a
// tg test evaluates n_gen random tokens one call at a time, also from an
// empty cache. Each runs `reps` times after one unrecorded warm-up.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "loci/dtype.h"
#include "loci/model.h"
#include "loci/status.h"

namespace loci::bench {

struct E2eOptions {
  std::vector<std::string> model_paths;
  std::vector<std::string> synthetic;  // "llama-1b:q4_0", ...
  std::vector<uint32_t> n_prompt{512};
  std::vector<uint32_t> n_gen{128};
  std::vector<uint32_t> threads;       // empty: the core count
  int reps = 5;
  uint32_t n_batch = 512;
  uint32_t n_ctx = 0;                  // 0: what the largest test needs
  DType kv_dtype = DType::F16;
  bool measure_bandwidth = true;
  uint64_t seed = 1234;
};

// One model under test, loaded (mapped) from a file or built in memory.
struct E2eModel {
  std::string filename;  // the path, or "synthetic:<spec>"
  std::string type;      // llama-bench's model_type: "llama 1.2B Q4_0"
  std::string file_type; // "q4_0", "q4_k_m", ...
  uint64_t size = 0;     // bytes of tensor data
  uint64_t n_params = 0;
  double load_ms = 0;    // Model::load for files (mapping, validation); building for synthetic ones
  uint64_t decode_bytes_per_token = 0;  // weight bytes one decode step reads (KV excluded)
  std::vector<std::string> kernels;     // "q4_0: gemv ..., gemm ...", one per matrix dtype
  std::shared_ptr<const Model> model;
};

struct E2eResult {
  const E2eModel* model = nullptr;
  uint32_t n_threads = 0, n_batch = 0, n_ctx = 0;
  uint32_t n_prompt = 0, n_gen = 0;  // one of them is 0
  DType kv_dtype = DType::F16;
  std::string test_time;             // ISO 8601, UTC, when the test started
  std::vector<double> samples_ns;    // one per repetition
  std::vector<double> samples_ts;    // tokens/s per repetition
  double avg_ns = 0, stddev_ns = 0, avg_ts = 0, stddev_ts = 0;
  uint64_t peak_rss = 0;             // process peak RSS during the test (0: unknown)
  // Decode only: bytes read per token (weights plus the average KV read), the
  // read bandwidth at this thread count, and avg_ts * bytes / bandwidth.
  double bytes_per_token = 0, bandwidth = 0, bandwidth_fraction = 0;
  std::string name() const;          // "pp512", "tg128"
};

struct E2eHost {
  std::string cpu_name;
  size_t cores = 0;
  std::string isa;                                 // the kernel level in use
  std::vector<std::pair<uint32_t, double>> bandwidth;  // (threads, bytes/s)
};

// Progress for a caller to show: the test, the repetition done, and how many.
using E2eProgress = std::function<void(const std::string& what, int rep, int reps)>;

struct E2eRun {
  E2eHost host;
  std::vector<std::unique_ptr<E2eModel>> models;
  std::vector<E2eResult> results;
};

Result<E2eRun> run_e2e(const E2eOptions& options, const E2eProgress& progress);

// Output formats. Field names follow llama-bench, so scripts read both.
std::string format_markdown(const E2eRun& run);
std::string format_json(const E2eRun& run);
std::string format_csv(const E2eRun& run);

}  // namespace loci::bench
