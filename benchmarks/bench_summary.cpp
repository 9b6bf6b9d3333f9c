// loci_bench_summary: one quick table of what this machine can do and how
// close loci's matmul kernels come to it. For board bring-up and the README.
//
//   loci_bench_summary [--threads N] [--isa NAME] [--quick] [--hot] [--slow]
//
// Every number is measured in this run: ceilings are the best of a few
// repetitions (see ceilings/ceilings.h for the method), kernel rows the median
// of several repetitions, each repetition timing enough calls to last >= 20 ms.
// GEMV rows read weights cold from a pool larger than the caches, as decoding
// does, so "% bw" compares like with like.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "ceilings/ceilings.h"
#include "common/bench_support.h"
#include "peers/peers.h"

namespace loci::bench {
namespace {

struct Settings {
  size_t threads = 2;
  Isa isa = Isa::kRef;
  bool quick = false;
  bool hot = false;
  bool slow = false;
  int reps = 7;
  double min_rep_s = 0.02;  // one repetition times at least this long
  double row_budget_s = 3;  // fewer repetitions past this, never fewer than one
  double max_call_s = 3;    // calls estimated above this are skipped unless --slow
  size_t bandwidth_bytes = size_t(1) << 30;
};

constexpr Shape kGemvShape{8192, 2048};  // FFN gate/up of a 1B Llama
constexpr Shape kGemmShape{2048, 2048};  // attention projections
constexpr size_t kGemmRows = 512;
constexpr DType kGemmTypes[] = {DType::Q4_0, DType::Q8_0, DType::F32};

void usage() {
  std::printf(
      "usage: loci_bench_summary [options]\n"
      "  --threads N   threads for matmul and bandwidth (default: 2, or the core count if smaller)\n"
      "  --isa NAME    cap kernels at this ISA: ref, avx2, avx512, avx512vnni, neon, dotprod, i8mm\n"
      "                (default: the best the host runs)\n"
      "  --quick       fewer repetitions (3) and a smaller bandwidth buffer (512 MiB)\n"
      "  --hot         one weight copy, cache-resident, instead of a cold pool\n"
      "  --slow        also run calls estimated above %.0f s (reference GEMMs)\n",
      Settings().max_call_s);
}

std::optional<Settings> parse_args(int argc, char** argv) {
  Settings s;
  const HostInfo host = host_info();
  s.threads = std::max<size_t>(1, std::min<size_t>(2, host.cores ? host.cores : 2));
  s.isa = host_isa();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--threads" && has_value) {
      char* end = nullptr;
      const long v = std::strtol(argv[++i], &end, 10);
      if (!end || *end || v < 1 || v > 1024) {
        std::fprintf(stderr, "loci_bench_summary: --threads needs a count from 1 to 1024\n");
        return std::nullopt;
      }
      s.threads = size_t(v);
    } else if (a == "--isa" && has_value) {
      const std::optional<Isa> isa = isa_from_name(argv[++i]);
      if (!isa || !isa_supported(*isa)) {
        std::fprintf(stderr, "loci_bench_summary: ISA '%s' is unknown or this CPU does not run it\n", argv[i]);
        return std::nullopt;
      }
      s.isa = *isa;
    } else if (a == "--quick") {
      s.quick = true;
      s.reps = 3;
      s.row_budget_s = 1;
      s.bandwidth_bytes = size_t(512) << 20;
    } else if (a == "--hot") {
      s.hot = true;
    } else if (a == "--slow") {
      s.slow = true;
    } else if (a == "--help" || a == "-h") {
      usage();
      std::exit(0);
    } else {
      std::fprintf(stderr, "loci_bench_summary: unknown argument '%s'\n", a.c_str());
      usage();
      return std::nullopt;
    }
  }
  return s;
}

const char* plural(size_t n) { return n == 1 ? "" : "s"; }

std::string time_text(double s) {
  char b[32];
  if (s < 1e-3) {
    std::snprintf(b, sizeof b, "%.1f us", s * 1e6);
  } else if (s < 1) {
    std::snprintf(b, sizeof b, "%.2f ms", s * 1e3);
  } else {
    std::snprintf(b, sizeof b, "%.2f s", s);
  }
  return b;
}

// --- timing -------------------------------------------------------------------

struct Timing {
  bool ok = false;
  std::string note;  // why a row has no numbers
  double seconds = 0;  // median seconds per call
  int reps = 0;
};

// Times `call` (one matmul; false on failure): one warm-up call, then up to
// s.reps repetitions of enough calls to fill s.min_rep_s, within the row budget.
Timing time_calls(const std::function<bool()>& call, const Settings& s) {
  Timing t;
  auto t0 = std::chrono::steady_clock::now();
  if (!call()) {
    t.note = "call failed";
    return t;
  }
  const double first = std::max(seconds_since(t0), 1e-7);
  const size_t calls = size_t(std::ceil(s.min_rep_s / first));
  const int reps = int(std::clamp(s.row_budget_s / (double(calls) * first), 1.0, double(s.reps)));
  std::vector<double> per_call;
  for (int r = 0; r < reps; ++r) {
    t0 = std::chrono::steady_clock::now();
    for (size_t c = 0; c < calls; ++c)
      if (!call()) {
        t.note = "call failed";
        return t;
      }
    per_call.push_back(seconds_since(t0) / double(calls));
  }
  t.ok = true;
  t.seconds = median(per_call);
  t.reps = reps;
  return t;
}

// Seconds a loci matmul of m rows will take, from an 8-row call scaled
// linearly (an over-estimate for SIMD kernels, about right for ref ones).
double estimate_call_seconds(DType type, const TensorView& w, size_t m, ThreadPool* pool) {
  constexpr size_t kProbe = 8;
  if (m <= kProbe) return 0;
  Result<MatmulCall> probe = MatmulCall::create(type, kProbe, size_t(w.ne[1]), size_t(w.ne[0]), 3);
  if (!probe) return 0;
  double best = 1e30;  // the faster of two calls: interference only adds time
  for (int r = 0; r < 2; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    if (!probe->run(w, pool)) return 0;
    best = std::min(best, seconds_since(t0));
  }
  return best * double(m) / kProbe;
}

// --- the machine ------------------------------------------------------------

struct Machine {
  double bandwidth = 0;  // bytes/s with s.threads threads
  double clock_hz = 0;
  std::optional<ComputePeak> int8, f32;
  size_t peak_cores = 1;  // cores the peak counts: min(threads, cores)
};

Machine measure_machine(const Settings& s, ThreadPool* pool) {
  Machine m;
  const HostInfo host = host_info();
  m.peak_cores = std::max<size_t>(1, std::min(s.threads, host.cores ? host.cores : s.threads));
  const int reps = s.quick ? 3 : 5;
  Result<ReadBandwidth> buf = ReadBandwidth::create(s.bandwidth_bytes);
  if (buf) {
    m.bandwidth = measure_read_bandwidth(*buf, pool, s.threads, reps);
    std::printf("bandwidth  %7.1f GB/s    read of %zu MiB, %zu thread%s, %s, best of %d\n", m.bandwidth * 1e-9,
                buf->bytes() >> 20, s.threads, plural(s.threads), buf->loads(), reps);
  } else {
    std::printf("bandwidth  n/a            %s\n", buf.status().to_string().c_str());
  }
  m.clock_hz = measure_clock_hz(0.05, reps);
  std::printf("clock      %7.2f GHz     dependent chain of reg+reg adds (1 cycle each), per CPU second;\n"
              "                          scalar code: wide vector code may run at a lower clock\n",
              m.clock_hz * 1e-9);
  const auto print_peak = [&](const char* what, const std::optional<PeakLoop>& loop, std::optional<ComputePeak>* out) {
    if (!loop) {
      std::printf("%-10s n/a            no %s instruction loop for this CPU\n", what, what);
      return;
    }
    *out = measure_compute_peak(*loop, m.clock_hz, 0.05, reps);
    const ComputePeak& p = **out;
    std::printf("%-10s %7.0f GOP/s   %s: %.2f/cycle/core x %.0f ops x %.2f GHz x %zu core%s\n", what,
                p.ops(m.peak_cores) * 1e-9, p.instruction.c_str(), p.instructions_per_cycle, p.ops_per_instruction,
                p.clock_hz * 1e-9, m.peak_cores, plural(m.peak_cores));
  };
  print_peak("int8 peak", int8_peak_loop(), &m.int8);
  print_peak("f32 peak", f32_peak_loop(), &m.f32);
  return m;
}

// --- rows -------------------------------------------------------------------

size_t pool_bytes(const Settings& s) { return s.hot ? 0 : default_cold_pool_bytes(); }

// Every row's weights live here in turn.
Arena g_arena;

void print_gemv_header() {
  std::printf("\nGEMV  m=1, weights n=%zu x k=%zu\n", kGemvShape.n, kGemvShape.k);
  std::printf("%-6s %-36s %10s %8s %6s %8s %5s\n", "type", "kernel", "time", "GB/s", "% bw", "GOP/s", "reps");
}

void print_gemm_header() {
  std::printf("\nGEMM  m=%zu, weights n=%zu x k=%zu   (%% peak: of the int8 peak for quantized types, of the f32 peak for f32)\n",
              kGemmRows, kGemmShape.n, kGemmShape.k);
  std::printf("%-6s %-36s %10s %8s %7s %8s %5s\n", "type", "kernel", "time", "GOP/s", "% peak", "GB/s", "reps");
}

void print_gemv_row(const char* type, const std::string& impl, const Timing& t, double bytes, double ops,
                    const Machine& mc) {
  if (!t.ok) {
    std::printf("%-6s %-36s %s\n", type, impl.c_str(), t.note.c_str());
    return;
  }
  const double gbs = bytes / t.seconds;
  char pct[16] = "n/a";
  if (mc.bandwidth > 0) std::snprintf(pct, sizeof pct, "%.0f%%", 100.0 * gbs / mc.bandwidth);
  std::printf("%-6s %-36s %10s %8.1f %6s %8.1f %5d\n", type, impl.c_str(), time_text(t.seconds).c_str(), gbs * 1e-9,
              pct, ops / t.seconds * 1e-9, t.reps);
}

void print_gemm_row(const char* type, const std::string& impl, const Timing& t, double bytes, double ops,
                    const std::optional<ComputePeak>& peak, size_t peak_cores) {
  if (!t.ok) {
    std::printf("%-6s %-36s %s\n", type, impl.c_str(), t.note.c_str());
    return;
  }
  const double opss = ops / t.seconds;
  char pct[16] = "n/a";
  if (peak && peak->ops(peak_cores) > 0) std::snprintf(pct, sizeof pct, "%.1f%%", 100.0 * opss / peak->ops(peak_cores));
  std::printf("%-6s %-36s %10s %8.1f %7s %8.1f %5d\n", type, impl.c_str(), time_text(t.seconds).c_str(), opss * 1e-9,
              pct, bytes / t.seconds * 1e-9, t.reps);
}

// A loci matmul of m rows on `type`, weights walked through `w`.
Timing time_loci(DType type, WeightPool& w, size_t m, Shape shape, ThreadPool* pool, const Settings& s) {
  Timing t;
  if (!s.slow) {
    const double est = estimate_call_seconds(type, w.view(0), m, pool);
    if (est > s.max_call_s) {
      char b[96];
      std::snprintf(b, sizeof b, "skipped: about %.0f s per call (--slow runs it)", est);
      t.note = b;
      return t;
    }
  }
  Result<MatmulCall> call = MatmulCall::create(type, m, shape.n, shape.k, 1);
  if (!call) {
    t.note = call.status().to_string();
    return t;
  }
  return time_calls([&] { return call->run(w.next(), pool).is_ok(); }, s);
}

// Eigen and XNNPACK on the same f32 product, each on its own copies of the weights.
void peer_rows(WeightPool& w, size_t m, Shape shape, const Settings& s, const Machine& mc, bool gemm) {
  Result<MatmulCall> call = MatmulCall::create(DType::F32, m, shape.n, shape.k, 1);
  if (!call) return;
  const double bytes = double(w.matrix_bytes()), ops = matmul_ops(m, shape.n, shape.k);
  const auto row = [&](const std::string& name, const Timing& t) {
    if (gemm) {
      print_gemm_row("f32", name, t, bytes, ops, mc.f32, mc.peak_cores);
    } else {
      print_gemv_row("f32", name, t, bytes, ops, mc);
    }
  };
  if (eigen_available()) {
    // Eigen threads only its GEMM, and only with OpenMP.
    const int threads = gemm ? int(std::min<size_t>(s.threads, size_t(eigen_max_threads()))) : 1;
    size_t i = 0;
    const Timing t = time_calls(
        [&] {
          eigen_matmul_f32(call->x(), m, w.f32_data(i++), shape.n, shape.k, call->y(), threads);
          return true;
        },
        s);
    row("eigen, " + std::to_string(threads) + " thread" + plural(size_t(threads)), t);
  } else {
    row("eigen", Timing{false, eigen_build()});
  }
  std::unique_ptr<XnnpackFc> fc = XnnpackFc::create();
  if (fc && fc->set_threads(s.threads)) {
    for (size_t i = 0; i < w.copies(); ++i)
      if (!fc->add_weights(w.f32_data(i), shape.n, shape.k)) break;
    size_t i = 0;
    const Timing t = time_calls([&] { return fc->run(i++, call->x(), m, call->y()); }, s);
    row("xnnpack, " + std::to_string(s.threads) + " thread" + plural(s.threads), t);
  } else {
    row("xnnpack", Timing{false, xnnpack_build()});
  }
}

// A table row's kernel and weights, or nullopt once the row has printed why
// it has none.
struct RowSetup {
  MatmulKernelInfo info;
  WeightPool weights;
};

std::optional<RowSetup> setup_row(DType type, Shape shape, const Settings& s) {
  const char* name = dtype_name(type);
  Result<MatmulKernelInfo> info = matmul_kernel_info(type);
  if (!info) {
    std::printf("%-6s %-36s\n", name, "no kernel in this build");
    return std::nullopt;
  }
  Result<WeightPool> w = WeightPool::create(type, shape.n, shape.k, pool_bytes(s), 0x5eed + uint64_t(type), &g_arena);
  if (!w) {
    std::printf("%-6s %s\n", name, w.status().to_string().c_str());
    return std::nullopt;
  }
  return RowSetup{*info, std::move(*w)};
}

void gemv_rows(const Settings& s, const Machine& mc, ThreadPool* pool) {
  print_gemv_header();
  for (DType type : kWeightTypes) {
    std::optional<RowSetup> row = setup_row(type, kGemvShape, s);
    if (!row) continue;
    WeightPool& w = row->weights;
    const Timing t = time_loci(type, w, 1, kGemvShape, pool, s);
    print_gemv_row(dtype_name(type), row->info.gemv_name, t, double(w.matrix_bytes()),
                   matmul_ops(1, kGemvShape.n, kGemvShape.k), mc);
    if (type == DType::F32) peer_rows(w, 1, kGemvShape, s, mc, false);
  }
}

void gemm_rows(const Settings& s, const Machine& mc, ThreadPool* pool) {
  print_gemm_header();
  for (DType type : kGemmTypes) {
    std::optional<RowSetup> row = setup_row(type, kGemmShape, s);
    if (!row) continue;
    WeightPool& w = row->weights;
    const Timing t = time_loci(type, w, kGemmRows, kGemmShape, pool, s);
    const std::optional<ComputePeak>& peak = type == DType::F32 ? mc.f32 : mc.int8;
    print_gemm_row(dtype_name(type), row->info.gemm_name, t, double(w.matrix_bytes()),
                   matmul_ops(kGemmRows, kGemmShape.n, kGemmShape.k), peak, mc.peak_cores);
    if (type == DType::F32) peer_rows(w, kGemmRows, kGemmShape, s, mc, true);
  }
}

int run(const Settings& s) {
  const auto t0 = std::chrono::steady_clock::now();
  set_isa_cap(s.isa);
  Result<std::unique_ptr<ThreadPool>> pool = ThreadPool::create(s.threads);
  if (!pool) {
    std::fprintf(stderr, "loci_bench_summary: %s\n", pool.status().to_string().c_str());
    return 1;
  }
  const HostInfo host = host_info();
  std::printf("loci kernel summary\n");
  std::printf("machine    %s, %zu cores, host ISA %s; kernels capped at %s; %zu thread%s\n", host.cpu_name.c_str(),
              host.cores, isa_name(host_isa()), isa_name(s.isa), s.threads, plural(s.threads));
  std::printf("method     rows: median of up to %d repetitions of >= %.0f ms; ceilings: the host's (any --isa), best of a few runs;\n"
              "           weights %s\n",
              s.reps, s.min_rep_s * 1e3,
              s.hot ? "hot (one copy, may sit in cache)"
                    : ("cold (" + std::to_string(pool_bytes(s) >> 20) + " MiB of copies read round-robin)").c_str());
  const Machine mc = measure_machine(s, pool->get());
  gemv_rows(s, mc, pool->get());
  gemm_rows(s, mc, pool->get());
  std::printf("\ntotal %.1f s\n", seconds_since(t0));
  return 0;
}

}  // namespace
}  // namespace loci::bench

int main(int argc, char** argv) {
  const std::optional<loci::bench::Settings> s = loci::bench::parse_args(argc, argv);
  if (!s) return 2;
  return loci::bench::run(*s);
}
