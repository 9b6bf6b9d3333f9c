// Runs the end-to-end tests of `loci bench` (see e2e_bench.h).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>

#include "ceilings/ceilings.h"
#include "common/bench_support.h"
#include "e2e/e2e_bench.h"
#include "loci/matmul.h"
#include "loci/quantize.h"
#include "loci/synth.h"
#include "loci/threadpool.h"

namespace loci::bench {
namespace {

using Clock = std::chrono::steady_clock;

// --- peak RSS (Linux: VmHWM, which clear_refs can reset) ----------------------

void reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  if (f) f << "5";
}

uint64_t peak_rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return uint64_t(std::strtoull(line.c_str() + 6, nullptr, 10)) * 1024;
  }
  return 0;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// --- describing a model ----------------------------------------------------------

// "1.2B", "494M", "15M", "292K", as model_type labels read.
std::string params_label(uint64_t n) {
  char buf[32];
  if (n >= 1000000000ull) std::snprintf(buf, sizeof buf, "%.1fB", double(n) / 1e9);
  else if (n >= 1000000ull) std::snprintf(buf, sizeof buf, "%.0fM", double(n) / 1e6);
  else std::snprintf(buf, sizeof buf, "%.0fK", double(n) / 1e3);
  return buf;
}

std::string upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// general.file_type, or else the dtype holding most of the matrices' bytes.
std::string file_type_of(const GgufFile& f) {
  const Result<int64_t> ft = f.get_int("general.file_type", -1);
  if (ft.is_ok() && *ft >= 0) {
    for (FileType t : file_types())
      if (int64_t(t) == *ft) return file_type_name(t);
    return "ftype " + std::to_string(*ft);
  }
  std::map<DType, uint64_t> bytes;
  for (const GgufTensor& t : f.tensors())
    if (t.ndim >= 2) bytes[t.dtype] += t.bytes;
  const auto most = std::max_element(bytes.begin(), bytes.end(),
                                     [](const auto& a, const auto& b) { return a.second < b.second; });
  return most == bytes.end() ? "unknown" : dtype_name(most->first);
}

// Weight bytes one decode step reads: every matrix once, except the token
// embedding, of which one row is gathered (unless it doubles as the output).
uint64_t decode_weight_bytes(const Model& m) {
  uint64_t bytes = 0;
  for (const GgufTensor& t : m.gguf().tensors()) {
    if (t.name == "token_embd.weight" && !m.hparams().tied_embeddings) bytes += t.bytes / uint64_t(t.ne[1]);
    else bytes += t.bytes;
  }
  return bytes;
}

std::vector<std::string> kernel_lines(const Model& m) {
  std::set<DType> types;
  for (const GgufTensor& t : m.gguf().tensors())
    if (t.ndim >= 2) types.insert(t.dtype);
  std::vector<std::string> lines;
  for (DType d : types) {
    const Result<MatmulKernelInfo> k = matmul_kernel_info(d);
    if (!k.is_ok()) continue;
    std::string line = std::string(dtype_name(d)) + ": gemv " + k->gemv_name + ", gemm " + k->gemm_name;
    if (k->convert_name) line += std::string(", activations ") + k->convert_name;
    lines.push_back(line);
  }
  return lines;
}

Status describe(E2eModel* e) {
  const Model& m = *e->model;
  e->file_type = file_type_of(m.gguf());
  e->n_params = m.n_params();
  e->size = m.gguf().tensor_bytes();
  e->type = std::string(arch_name(m.hparams().arch)) + " " + params_label(e->n_params) + " " + upper(e->file_type);
  e->decode_bytes_per_token = decode_weight_bytes(m);
  e->kernels = kernel_lines(m);
  return Status::ok();
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

Result<std::unique_ptr<E2eModel>> load_file(const std::string& path) {
  auto e = std::make_unique<E2eModel>();
  e->filename = path;
  const auto t0 = Clock::now();
  LOCI_ASSIGN_OR_RETURN(e->model, Model::load(path));
  e->load_ms = ms_since(t0);
  LOCI_RETURN_IF_ERROR(describe(e.get()));
  return e;
}

Result<std::unique_ptr<E2eModel>> build_synthetic(const std::string& spec_text, uint64_t seed) {
  LOCI_ASSIGN_OR_RETURN(SynthSpec spec, parse_synth_spec(spec_text));
  spec.seed = seed;
  LOCI_ASSIGN_OR_RETURN(std::unique_ptr<ThreadPool> pool, ThreadPool::create(0));
  auto e = std::make_unique<E2eModel>();
  e->filename = "synthetic:" + synth_spec_name(spec);
  const auto t0 = Clock::now();
  LOCI_ASSIGN_OR_RETURN(e->model, build_synth_model(spec, pool.get()));
  e->load_ms = ms_since(t0);
  LOCI_RETURN_IF_ERROR(describe(e.get()));
  return e;
}

// --- statistics ---------------------------------------------------------------

void summarize(E2eResult* r, uint32_t tokens) {
  const size_t n = r->samples_ns.size();
  double sum_ns = 0, sum_ts = 0;
  for (double ns : r->samples_ns) {
    r->samples_ts.push_back(double(tokens) * 1e9 / ns);
    sum_ns += ns;
    sum_ts += r->samples_ts.back();
  }
  r->avg_ns = sum_ns / double(n);
  r->avg_ts = sum_ts / double(n);
  double v_ns = 0, v_ts = 0;
  for (size_t i = 0; i < n; ++i) {
    v_ns += (r->samples_ns[i] - r->avg_ns) * (r->samples_ns[i] - r->avg_ns);
    v_ts += (r->samples_ts[i] - r->avg_ts) * (r->samples_ts[i] - r->avg_ts);
  }
  // Sample standard deviation, as llama-bench reports it.
  r->stddev_ns = n > 1 ? std::sqrt(v_ns / double(n - 1)) : 0;
  r->stddev_ts = n > 1 ? std::sqrt(v_ts / double(n - 1)) : 0;
}

// --- one model at one thread count -----------------------------------------------

class Runner {
 public:
  Runner(const E2eOptions& o, const E2eProgress& p) : opt_(o), progress_(p) {}

  Status run_model(const E2eModel& m, uint32_t threads, double bandwidth, std::vector<E2eResult>* out) {
    const HParams& hp = m.model->hparams();
    SessionOptions so;
    so.n_threads = threads;
    so.n_batch = opt_.n_batch;
    so.kv_dtype = opt_.kv_dtype;
    so.n_ctx = opt_.n_ctx ? opt_.n_ctx : needed_ctx();
    LOCI_ASSIGN_OR_RETURN(std::unique_ptr<Session> s, Session::create(m.model, so));
    std::mt19937 rng(uint32_t(opt_.seed));
    std::uniform_int_distribution<int32_t> tok(0, int32_t(hp.n_vocab) - 1);
    std::vector<int32_t> tokens(std::max({16u, max_of(opt_.n_prompt), max_of(opt_.n_gen)}));
    for (int32_t& t : tokens) t = tok(rng);

    // Warm-up: pages every weight in and starts the threads.
    LOCI_RETURN_IF_ERROR(s->eval(tokens.data(), std::min<size_t>(16, s->n_ctx())));
    s->reset();

    for (uint32_t n : opt_.n_prompt) {
      if (n == 0) continue;
      E2eResult r = start(m, threads, so);
      r.n_prompt = n;
      LOCI_RETURN_IF_ERROR(repeat(&r, [&]() { return s->eval(tokens.data(), n); }, s.get()));
      summarize(&r, n);
      out->push_back(std::move(r));
    }
    for (uint32_t n : opt_.n_gen) {
      if (n == 0) continue;
      E2eResult r = start(m, threads, so);
      r.n_gen = n;
      LOCI_RETURN_IF_ERROR(repeat(&r, [&]() -> Status {
        for (uint32_t i = 0; i < n; ++i) LOCI_RETURN_IF_ERROR(s->eval(&tokens[i], 1));
        return Status::ok();
      }, s.get()));
      summarize(&r, n);
      // Each step reads the weights and, on average, half of the cache it ends with.
      const double kv_row = 2.0 * hp.n_head_kv * hp.head_dim * double(dtype_info(so.kv_dtype)->block_bytes);
      r.bytes_per_token = double(m.decode_bytes_per_token) + kv_row * hp.n_layer * (double(n) + 1) / 2;
      r.bandwidth = bandwidth;
      if (bandwidth > 0) r.bandwidth_fraction = r.avg_ts * r.bytes_per_token / bandwidth;
      out->push_back(std::move(r));
    }
    return Status::ok();
  }

 private:
  static uint32_t max_of(const std::vector<uint32_t>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }
  uint32_t needed_ctx() const { return std::max<uint32_t>(16, std::max(max_of(opt_.n_prompt), max_of(opt_.n_gen))); }

  E2eResult start(const E2eModel& m, uint32_t threads, const SessionOptions& so) const {
    E2eResult r;
    r.model = &m;
    r.n_threads = threads;
    r.n_batch = so.n_batch;
    r.n_ctx = so.n_ctx;
    r.kv_dtype = so.kv_dtype;
    r.test_time = utc_now();
    return r;
  }

  template <typename F>
  Status repeat(E2eResult* r, F&& once, Session* s) {
    reset_peak_rss();
    const std::string what = r->model->filename + " t" + std::to_string(r->n_threads) + " " + r->name();
    for (int rep = 0; rep < opt_.reps; ++rep) {
      s->reset();
      const auto t0 = Clock::now();
      LOCI_RETURN_IF_ERROR(once());
      r->samples_ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
      if (progress_) progress_(what, rep + 1, opt_.reps);
    }
    r->peak_rss = peak_rss_bytes();
    return Status::ok();
  }

  const E2eOptions& opt_;
  const E2eProgress& progress_;
};

}  // namespace

std::string E2eResult::name() const {
  return n_prompt ? "pp" + std::to_string(n_prompt) : "tg" + std::to_string(n_gen);
}

Result<E2eRun> run_e2e(const E2eOptions& options, const E2eProgress& progress) {
  if (options.model_paths.empty() && options.synthetic.empty())
    return invalid_argument("bench: no model (give -m FILE or --synthetic SHAPE:TYPE)");
  if (options.reps < 1) return invalid_argument("bench: repetitions must be at least 1");
  E2eRun run;
  const HostInfo host = host_info();
  run.host.cpu_name = host.cpu_name;
  run.host.cores = host.cores;
  run.host.isa = isa_name(std::min(host_isa(), isa_cap()));
  std::vector<uint32_t> threads = options.threads;
  if (threads.empty()) threads.push_back(uint32_t(std::max<size_t>(1, host.cores)));

  // Bandwidth first, with its buffer freed before any model is loaded.
  if (options.measure_bandwidth) {
    LOCI_ASSIGN_OR_RETURN(ReadBandwidth buf, ReadBandwidth::create(default_cold_pool_bytes()));
    for (uint32_t t : threads) {
      if (progress) progress("read bandwidth t" + std::to_string(t), 0, 1);
      LOCI_ASSIGN_OR_RETURN(std::unique_ptr<ThreadPool> pool, ThreadPool::create(t));
      run.host.bandwidth.emplace_back(t, measure_read_bandwidth(buf, t > 1 ? pool.get() : nullptr, t, 5));
    }
  }
  auto bandwidth_at = [&](uint32_t t) {
    for (const auto& [n, bw] : run.host.bandwidth)
      if (n == t) return bw;
    return 0.0;
  };

  Runner runner(options, progress);
  auto bench = [&](std::unique_ptr<E2eModel> m) -> Status {
    run.models.push_back(std::move(m));
    for (uint32_t t : threads)
      LOCI_RETURN_IF_ERROR(runner.run_model(*run.models.back(), t, bandwidth_at(t), &run.results));
    run.models.back()->model.reset();  // one model in memory at a time
    return Status::ok();
  };
  for (const std::string& path : options.model_paths) {
    if (progress) progress("loading " + path, 0, 1);
    LOCI_ASSIGN_OR_RETURN(std::unique_ptr<E2eModel> m, load_file(path));
    LOCI_RETURN_IF_ERROR(bench(std::move(m)));
  }
  for (const std::string& spec : options.synthetic) {
    if (progress) progress("building synthetic " + spec, 0, 1);
    LOCI_ASSIGN_OR_RETURN(std::unique_ptr<E2eModel> m, build_synthetic(spec, options.seed));
    LOCI_RETURN_IF_ERROR(bench(std::move(m)));
  }
  return run;
}

}  // namespace loci::bench
