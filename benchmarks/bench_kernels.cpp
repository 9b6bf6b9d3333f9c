// loci_bench_kernels: matmul kernels through the public loci::matmul (the real
// driver, tile grid and ThreadPool), Eigen and XNNPACK on the same f32 shapes,
// and the machine's ceilings, all in one Google Benchmark run.
//
// Names:  matmul/<type>/<isa cap>/n<N>_k<K>/m<M>/threads:<T>   (label: kernel run)
//         peer/<eigen|xnnpack>/f32/n<N>_k<K>/m<M>/threads:<T>
//         ceiling/<read_bandwidth|clock|int8_peak|f32_peak>/...
// Counters: GB/s = weight bytes / wall second; GOP/s = 2*m*n*k / wall second.
//
// One benchmark per (type, ISA level) whose kernel differs from the level
// below, so an ISA that adds nothing for a type is not measured twice.
// Weights are walked round-robin through a pool larger than the caches (see
// WeightPool), so GEMV numbers are DRAM numbers, as in real decoding.
//
// Extra flags (before the usual --benchmark_* ones):
//   --loci_slow          also run calls estimated above the budget (ref GEMMs)
//   --loci_budget=S      seconds per call above which a case is skipped (3)
//   --loci_hot           one weight copy (cache-resident) instead of a cold pool
//   --loci_pool_mib=N    cold pool size (default max(1 GiB, 2 x last-level cache))
//   --loci_types=a,b     weight types (default all 13)
//   --loci_isas=a,b      ISA caps (default every level the host runs)
//   --loci_batches=1,8   batch sizes m (default 1,8,64,512)
//   --loci_threads=1,2   thread counts (default 1,2)
//   --loci_all_isas      measure every cap even when its kernel repeats
//   --loci_no_peers, --loci_no_ceilings
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "ceilings/ceilings.h"
#include "common/bench_support.h"
#include "peers/peers.h"

namespace loci::bench {
namespace {

struct Options {
  bool slow = false;
  double budget_s = 3.0;
  bool hot = false;
  size_t pool_bytes = 0;  // 0: default
  std::vector<DType> types{std::begin(kWeightTypes), std::end(kWeightTypes)};
  std::vector<Isa> isas;  // empty: host_isas()
  std::vector<size_t> batches{std::begin(kBatchSizes), std::end(kBatchSizes)};
  std::vector<size_t> threads{1, 2};
  bool all_isas = false;
  bool peers = true;
  bool ceilings = true;
};

Options g_opt;

bool starts_with(const char* s, const char* prefix) { return std::strncmp(s, prefix, std::strlen(prefix)) == 0; }

// Takes the --loci_* flags out of argv; false (with a message) on a bad one.
bool parse_loci_flags(int* argc, char** argv) {
  int out = 1;
  for (int i = 1; i < *argc; ++i) {
    const char* a = argv[i];
    std::string err;
    if (!starts_with(a, "--loci_")) {
      argv[out++] = argv[i];
      continue;
    }
    if (!std::strcmp(a, "--loci_slow")) {
      g_opt.slow = true;
    } else if (!std::strcmp(a, "--loci_hot")) {
      g_opt.hot = true;
    } else if (!std::strcmp(a, "--loci_all_isas")) {
      g_opt.all_isas = true;
    } else if (!std::strcmp(a, "--loci_no_peers")) {
      g_opt.peers = false;
    } else if (!std::strcmp(a, "--loci_no_ceilings")) {
      g_opt.ceilings = false;
    } else if (starts_with(a, "--loci_budget=")) {
      g_opt.budget_s = std::atof(a + 14);
      if (!(g_opt.budget_s > 0)) err = "budget must be positive";
    } else if (starts_with(a, "--loci_pool_mib=")) {
      const std::vector<size_t> v = parse_size_list(a + 16, &err);
      if (v.size() == 1) g_opt.pool_bytes = v[0] << 20;
    } else if (starts_with(a, "--loci_types=")) {
      g_opt.types = parse_dtype_list(a + 13, &err);
    } else if (starts_with(a, "--loci_batches=")) {
      g_opt.batches = parse_size_list(a + 15, &err);
    } else if (starts_with(a, "--loci_threads=")) {
      g_opt.threads = parse_size_list(a + 15, &err);
    } else if (starts_with(a, "--loci_isas=")) {
      g_opt.isas.clear();
      std::string list = a + 12;
      size_t at = 0;
      while (at <= list.size()) {
        const size_t comma = std::min(list.find(',', at), list.size());
        const std::string name = list.substr(at, comma - at);
        const std::optional<Isa> isa = isa_from_name(name);
        if (!isa || !isa_supported(*isa)) err = "ISA '" + name + "' is unknown or not supported by this host";
        if (isa) g_opt.isas.push_back(*isa);
        at = comma + 1;
      }
    } else {
      err = "unknown flag";
    }
    if (!err.empty()) {
      std::fprintf(stderr, "loci_bench_kernels: %s: %s\n", a, err.c_str());
      return false;
    }
  }
  *argc = out;
  argv[out] = nullptr;
  return true;
}

// --- state shared by the benchmarks, built lazily --------------------------

std::map<size_t, std::unique_ptr<ThreadPool>> g_pools;

ThreadPool* pool_for(size_t threads) {
  auto it = g_pools.find(threads);
  if (it == g_pools.end()) {
    Result<std::unique_ptr<ThreadPool>> p = ThreadPool::create(threads);
    if (!p) return nullptr;
    it = g_pools.emplace(threads, std::move(*p)).first;
  }
  return it->second.get();
}

// What the current group of benchmarks shares: a weight pool (in g_arena),
// XNNPACK operators, or the bandwidth buffer; a new key drops the old one.
// Registration order keeps the benchmarks that share one together.
struct Current {
  std::string key;
  std::optional<WeightPool> weights;
  std::unique_ptr<XnnpackFc> xnnpack;
  std::optional<ReadBandwidth> bandwidth;
};
Current g_cur;
Arena g_arena;  // the weight pools' memory, reused from one pool to the next

void release_unless(const std::string& key) {
  if (g_cur.key == key) return;
  g_cur = Current();
  g_cur.key = key;
}

size_t pool_bytes() { return g_opt.hot ? 0 : (g_opt.pool_bytes ? g_opt.pool_bytes : default_cold_pool_bytes()); }

std::string shape_key(DType t, Shape s) {
  return std::string(dtype_name(t)) + "/n" + std::to_string(s.n) + "_k" + std::to_string(s.k);
}

Result<WeightPool*> weights_for(DType t, Shape s) {
  release_unless("weights/" + shape_key(t, s));
  if (!g_cur.weights) {
    LOCI_ASSIGN_OR_RETURN(WeightPool w, WeightPool::create(t, s.n, s.k, pool_bytes(), 0x10c1 + uint64_t(t), &g_arena));
    g_cur.weights = std::move(w);
  }
  return &*g_cur.weights;
}

// Sets the counters from the wall time of the timed loop.
void set_rates(benchmark::State& st, double seconds, double weight_bytes, double ops) {
  const double iters = double(st.iterations());
  if (seconds <= 0 || iters <= 0) return;
  st.counters["GB/s"] = weight_bytes * iters / seconds * 1e-9;
  st.counters["GOP/s"] = ops * iters / seconds * 1e-9;
}

// --- loci matmul ------------------------------------------------------------

std::map<std::string, double> g_estimates;

constexpr size_t kProbeRows = 8;

// Seconds one call of m rows is expected to take, from a timed call of 8
// rows (the same GEMM kernel) scaled linearly, which over-estimates fast
// kernels (they reuse weights across rows) and fits ref kernels.
Result<double> estimate_seconds(const std::string& key, DType t, const TensorView& w, size_t m, ThreadPool* pool) {
  if (m <= kProbeRows) return 0.0;
  auto it = g_estimates.find(key);
  if (it == g_estimates.end()) {
    LOCI_ASSIGN_OR_RETURN(MatmulCall probe, MatmulCall::create(t, kProbeRows, size_t(w.ne[1]), size_t(w.ne[0]), 7));
    double best = 1e30;  // the faster of two calls: interference only adds time
    for (int r = 0; r < 2; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      LOCI_RETURN_IF_ERROR(probe.run(w, pool));
      best = std::min(best, seconds_since(t0));
    }
    it = g_estimates.emplace(key, best).first;
  }
  return it->second * double(m) / kProbeRows;
}

void bm_matmul(benchmark::State& st, DType t, Isa cap, Shape s, size_t m, size_t threads) {
  set_isa_cap(cap);
  Result<MatmulKernelInfo> info = matmul_kernel_info(t);
  Result<WeightPool*> w = weights_for(t, s);
  ThreadPool* pool = pool_for(threads);
  if (!info || !w || !pool) {
    st.SkipWithError(!info ? info.status().to_string().c_str() : !w ? w.status().to_string().c_str() : "no thread pool");
    return;
  }
  WeightPool& weights = **w;
  // One probe serves every batch size of a (type, shape, cap, threads).
  const std::string key = shape_key(t, s) + "/" + isa_name(cap) + "/t" + std::to_string(threads);
  if (!g_opt.slow) {
    Result<double> est = estimate_seconds(key, t, weights.view(0), m, pool);
    if (!est) {
      st.SkipWithError(est.status().to_string().c_str());
      return;
    }
    if (*est > g_opt.budget_s) {
      char msg[160];
      std::snprintf(msg, sizeof msg, "skipped: about %.1f s per call (budget %.1f s; --loci_slow runs it)", *est,
                    g_opt.budget_s);
      st.SkipWithError(msg);
      return;
    }
  }
  Result<MatmulCall> call = MatmulCall::create(t, m, s.n, s.k, 1);
  if (!call) {
    st.SkipWithError(call.status().to_string().c_str());
    return;
  }
  st.SetLabel(m < kGemmMinRows ? info->gemv_name : info->gemm_name);
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : st) {
    Status r = call->run(weights.next(), pool);
    if (!r) {
      st.SkipWithError(r.to_string().c_str());
      break;
    }
  }
  set_rates(st, seconds_since(t0), double(weights.matrix_bytes()), matmul_ops(m, s.n, s.k));
}

std::string matmul_name(DType t, Isa cap, Shape s, size_t m, size_t threads) {
  return "matmul/" + std::string(dtype_name(t)) + "/" + isa_name(cap) + "/n" + std::to_string(s.n) + "_k" +
         std::to_string(s.k) + "/m" + std::to_string(m) + "/threads:" + std::to_string(threads);
}

void register_matmuls() {
  const std::vector<Isa> isas = g_opt.isas.empty() ? host_isas() : g_opt.isas;
  const Isa saved = isa_cap();
  for (DType t : g_opt.types) {
    // Which caps bring a new GEMV / GEMM kernel for this type.
    std::vector<Isa> gemv_caps, gemm_caps;
    std::set<std::string> seen_gemv, seen_gemm;
    for (Isa cap : isas) {
      set_isa_cap(cap);
      Result<MatmulKernelInfo> info = matmul_kernel_info(t);
      if (!info) continue;
      if (seen_gemv.insert(info->gemv_name).second || g_opt.all_isas) gemv_caps.push_back(cap);
      if (seen_gemm.insert(info->gemm_name).second || g_opt.all_isas) gemm_caps.push_back(cap);
    }
    if (gemv_caps.empty() && gemm_caps.empty())
      std::fprintf(stderr, "loci_bench_kernels: no %s kernel in this build; not measured\n", dtype_name(t));
    for (const Shape& s : kLlama1BShapes) {
      for (size_t m : g_opt.batches) {
        for (Isa cap : m < kGemmMinRows ? gemv_caps : gemm_caps) {
          for (size_t threads : g_opt.threads) {
            benchmark::RegisterBenchmark(matmul_name(t, cap, s, m, threads).c_str(), bm_matmul, t, cap, s, m, threads)
                ->UseRealTime()
                ->Unit(benchmark::kMicrosecond);
          }
        }
      }
    }
  }
  set_isa_cap(saved);
}

// --- peers ------------------------------------------------------------------

std::string peer_name(const char* peer, Shape s, size_t m, size_t threads) {
  return std::string("peer/") + peer + "/f32/n" + std::to_string(s.n) + "_k" + std::to_string(s.k) + "/m" +
         std::to_string(m) + "/threads:" + std::to_string(threads);
}

void bm_eigen(benchmark::State& st, Shape s, size_t m, size_t threads) {
  Result<WeightPool*> w = weights_for(DType::F32, s);
  Result<MatmulCall> call = MatmulCall::create(DType::F32, m, s.n, s.k, 1);
  if (!w || !call) {
    st.SkipWithError("cannot allocate");
    return;
  }
  WeightPool& weights = **w;
  st.SetLabel(eigen_build());
  size_t i = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : st) eigen_matmul_f32(call->x(), m, weights.f32_data(i++), s.n, s.k, call->y(), int(threads));
  set_rates(st, seconds_since(t0), double(weights.matrix_bytes()), matmul_ops(m, s.n, s.k));
}

void bm_xnnpack(benchmark::State& st, Shape s, size_t m, size_t threads) {
  release_unless("xnnpack/" + shape_key(DType::F32, s));
  if (!g_cur.xnnpack) {
    // Operators pack their own copy, so one source copy serves them all.
    Result<WeightPool> src = WeightPool::create(DType::F32, s.n, s.k, 0, 0x10c1);
    std::unique_ptr<XnnpackFc> fc = XnnpackFc::create();
    const size_t ops = std::max<size_t>(1, pool_bytes() / (s.n * s.k * sizeof(float)));
    for (size_t i = 0; fc && src && i < ops; ++i)
      if (!fc->add_weights(src->f32_data(0), s.n, s.k)) fc.reset();
    g_cur.xnnpack = std::move(fc);
  }
  Result<MatmulCall> call = MatmulCall::create(DType::F32, m, s.n, s.k, 1);
  if (!g_cur.xnnpack || !call || !g_cur.xnnpack->set_threads(threads)) {
    st.SkipWithError("XNNPACK operator setup failed");
    return;
  }
  XnnpackFc& fc = *g_cur.xnnpack;
  st.SetLabel(xnnpack_build());
  size_t i = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : st) {
    if (!fc.run(i++, call->x(), m, call->y())) {
      st.SkipWithError("xnn_run_operator failed");
      break;
    }
  }
  set_rates(st, seconds_since(t0), double(s.n * s.k * sizeof(float)), matmul_ops(m, s.n, s.k));
}

void register_peers() {
  if (std::find(g_opt.types.begin(), g_opt.types.end(), DType::F32) == g_opt.types.end()) return;
  for (const Shape& s : kLlama1BShapes) {
    for (size_t m : g_opt.batches) {
      for (size_t threads : g_opt.threads) {
        // Without OpenMP Eigen runs one thread; a 2-thread row would mislead.
        if (eigen_available() && int(threads) <= eigen_max_threads())
          benchmark::RegisterBenchmark(peer_name("eigen", s, m, threads).c_str(), bm_eigen, s, m, threads)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
      }
    }
    for (size_t m : g_opt.batches) {
      for (size_t threads : g_opt.threads) {
        if (xnnpack_available())
          benchmark::RegisterBenchmark(peer_name("xnnpack", s, m, threads).c_str(), bm_xnnpack, s, m, threads)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
      }
    }
  }
}

// --- ceilings ---------------------------------------------------------------

constexpr size_t kBandwidthBytes = size_t(1) << 30;

void bm_read_bandwidth(benchmark::State& st, size_t threads) {
  release_unless("bandwidth");
  if (!g_cur.bandwidth) {
    Result<ReadBandwidth> b = ReadBandwidth::create(kBandwidthBytes);
    if (!b) {
      st.SkipWithError(b.status().to_string().c_str());
      return;
    }
    g_cur.bandwidth = std::move(*b);
  }
  ThreadPool* pool = pool_for(threads);
  ReadBandwidth& buf = *g_cur.bandwidth;
  st.SetLabel(std::string("1 GiB, ") + buf.loads());
  double seconds = 0;
  for (auto _ : st) seconds += buf.pass(pool, threads);
  if (seconds > 0) st.counters["GB/s"] = double(buf.bytes()) * double(st.iterations()) / seconds * 1e-9;
}

double g_clock_hz = 0;
double clock_hz() {
  if (g_clock_hz == 0) g_clock_hz = measure_clock_hz(0.1, 5);
  return g_clock_hz;
}

// The one-core loops count this thread's CPU time (see ceilings.h).
void bm_clock(benchmark::State& st) {
  constexpr uint64_t kIters = 1 << 16;  // 4M dependent adds per iteration
  st.SetLabel("dependent chain of 1-cycle reg+reg adds per CPU second = clock");
  const double c0 = thread_cpu_seconds();
  uint64_t adds = 0;
  for (auto _ : st) adds += run_add_chain(kIters);
  st.counters["GHz"] = double(adds) / (thread_cpu_seconds() - c0) * 1e-9;
}

void bm_peak(benchmark::State& st, PeakLoop loop) {
  constexpr uint64_t kIters = 1 << 15;
  const double hz = clock_hz();
  const size_t cores = std::max<size_t>(1, host_info().cores);
  st.SetLabel("1 thread; peak = " + std::to_string(cores) + " cores x instr/cycle x " +
              std::to_string(int(loop.ops_per_instruction)) + " ops x clock");
  const double c0 = thread_cpu_seconds();
  uint64_t instr = 0;
  for (auto _ : st) instr += loop.run(kIters);
  const double per_s = double(instr) / (thread_cpu_seconds() - c0);
  st.counters["clock_GHz"] = hz * 1e-9;
  st.counters["instr/cycle"] = per_s / hz;
  st.counters["GOP/s/core"] = per_s * loop.ops_per_instruction * 1e-9;
  st.counters["peak_GOP/s"] = double(cores) * per_s * loop.ops_per_instruction * 1e-9;
}

// "vpdpbusd zmm" -> "vpdpbusd_zmm": benchmark names without spaces filter easily.
std::string name_part(const char* s) {
  std::string r = s;
  std::replace(r.begin(), r.end(), ' ', '_');
  return r;
}

void register_ceilings() {
  benchmark::RegisterBenchmark("ceiling/clock", bm_clock);
  if (std::optional<PeakLoop> l = int8_peak_loop())
    benchmark::RegisterBenchmark(("ceiling/int8_peak/" + name_part(l->instruction)).c_str(), bm_peak, *l);
  if (std::optional<PeakLoop> l = f32_peak_loop())
    benchmark::RegisterBenchmark(("ceiling/f32_peak/" + name_part(l->instruction)).c_str(), bm_peak, *l);
  for (size_t threads : g_opt.threads)
    benchmark::RegisterBenchmark(("ceiling/read_bandwidth/threads:" + std::to_string(threads)).c_str(),
                                 bm_read_bandwidth, threads)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace loci::bench

int main(int argc, char** argv) {
  using namespace loci::bench;
  if (!parse_loci_flags(&argc, argv)) return 2;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  const HostInfo host = host_info();
  std::fprintf(stderr, "loci_bench_kernels: %s, %zu cores, host ISA %s; weights %s\n", host.cpu_name.c_str(),
               host.cores, loci::isa_name(loci::host_isa()),
               g_opt.hot ? "hot (one copy)"
                         : ("cold (" + std::to_string(pool_bytes() >> 20) + " MiB pool, round-robin)").c_str());
  if (g_opt.ceilings) register_ceilings();
  register_matmuls();
  if (g_opt.peers) register_peers();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
