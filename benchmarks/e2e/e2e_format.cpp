// `loci bench` output: a markdown table (with a header naming the machine,
// kernels and models), or llama-bench-compatible JSON and CSV.
#include <cinttypes>
#include <cstdio>
#include <string>

#include "e2e/e2e_bench.h"
#include "loci.h"
#include "loci/dtype.h"

namespace loci::bench {
namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string version() {
  return std::to_string(LOCI_VERSION_MAJOR) + "." + std::to_string(LOCI_VERSION_MINOR) + "." +
         std::to_string(LOCI_VERSION_PATCH);
}

std::string mib(uint64_t bytes) { return fmt("%.0f MiB", double(bytes) / double(1ull << 20)); }
std::string size_text(uint64_t bytes) {
  return bytes >= (1ull << 30) ? fmt("%.2f GiB", double(bytes) / double(1ull << 30))
                               : fmt("%.2f MiB", double(bytes) / double(1ull << 20));
}
std::string params_text(uint64_t n) {
  return n >= 1000000000ull ? fmt("%.2f B", double(n) / 1e9) : fmt("%.2f M", double(n) / 1e6);
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

std::string number(double v) { return fmt("%.6g", v); }

std::string join_numbers(const std::vector<double>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + number(v[i]);
  return out;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

// Every field of one result, in output order: (name, value, is_text).
struct Field {
  const char* name;
  std::string value;
  bool text;
};

std::vector<Field> fields(const E2eRun& run, const E2eResult& r) {
  const E2eModel& m = *r.model;
  return {
      {"build_commit", "loci-" + version(), true},
      {"loci_version", version(), true},
      {"cpu_info", run.host.cpu_name, true},
      {"backends", "CPU", true},
      {"isa", run.host.isa, true},
      {"kernels", join(m.kernels, "; "), true},
      {"model_filename", m.filename, true},
      {"model_type", m.type, true},
      {"model_size", std::to_string(m.size), false},
      {"model_n_params", std::to_string(m.n_params), false},
      {"load_ms", number(m.load_ms), false},
      {"n_batch", std::to_string(r.n_batch), false},
      {"n_ctx", std::to_string(r.n_ctx), false},
      {"n_threads", std::to_string(r.n_threads), false},
      {"type_k", dtype_name(r.kv_dtype), true},
      {"type_v", dtype_name(r.kv_dtype), true},
      {"n_prompt", std::to_string(r.n_prompt), false},
      {"n_gen", std::to_string(r.n_gen), false},
      {"test_time", r.test_time, true},
      {"avg_ns", number(r.avg_ns), false},
      {"stddev_ns", number(r.stddev_ns), false},
      {"avg_ts", number(r.avg_ts), false},
      {"stddev_ts", number(r.stddev_ts), false},
      {"peak_rss_bytes", std::to_string(r.peak_rss), false},
      {"bytes_per_token", number(r.bytes_per_token), false},
      {"bandwidth_bytes_per_s", number(r.bandwidth), false},
      {"bandwidth_fraction", number(r.bandwidth_fraction), false},
  };
}

}  // namespace

std::string format_markdown(const E2eRun& run) {
  std::string out = "loci " + version() + " · " + (run.host.cpu_name.empty() ? "unknown CPU" : run.host.cpu_name) +
                    " · " + std::to_string(run.host.cores) + " cores · kernels " + run.host.isa + "\n";
  if (!run.host.bandwidth.empty()) {
    out += "read bandwidth:";
    for (size_t i = 0; i < run.host.bandwidth.size(); ++i)
      out += std::string(i ? "," : "") + " " + fmt("%.1f GB/s", run.host.bandwidth[i].second / 1e9) + " at " +
             std::to_string(run.host.bandwidth[i].first) + " thread" + (run.host.bandwidth[i].first > 1 ? "s" : "");
    out += "\n";
  }
  for (const auto& m : run.models) {
    out += "\n" + m->filename + ": " + m->type + ", " + size_text(m->size) + ", " +
           (m->filename.rfind("synthetic:", 0) == 0 ? "built in " : "loaded in ") + fmt("%.1f ms", m->load_ms) + "\n";
    for (const std::string& k : m->kernels) out += "  " + k + "\n";
  }
  out += "\n| model | size | params | threads | test | t/s | % bw | peak RSS |\n";
  out += "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const E2eResult& r : run.results) {
    const E2eModel& m = *r.model;
    out += "| " + m.type + " | " + size_text(m.size) + " | " + params_text(m.n_params) + " | " +
           std::to_string(r.n_threads) + " | " + r.name() + " | " + fmt("%.2f", r.avg_ts) + " ± " +
           fmt("%.2f", r.stddev_ts) + " | " + (r.bandwidth_fraction > 0 ? fmt("%.0f%%", 100 * r.bandwidth_fraction) : "") +
           " | " + (r.peak_rss ? mib(r.peak_rss) : "") + " |\n";
  }
  return out;
}

std::string format_json(const E2eRun& run) {
  std::string out = "[\n";
  for (size_t i = 0; i < run.results.size(); ++i) {
    const E2eResult& r = run.results[i];
    out += "  {\n";
    for (const Field& f : fields(run, r)) out += "    " + json_string(f.name) + ": " + (f.text ? json_string(f.value) : f.value) + ",\n";
    out += "    \"samples_ns\": [" + join_numbers(r.samples_ns, ", ") + "],\n";
    out += "    \"samples_ts\": [" + join_numbers(r.samples_ts, ", ") + "]\n";
    out += i + 1 < run.results.size() ? "  },\n" : "  }\n";
  }
  return out + "]\n";
}

std::string format_csv(const E2eRun& run) {
  auto quote = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
  };
  std::string out;
  for (size_t i = 0; i < run.results.size(); ++i) {
    const E2eResult& r = run.results[i];
    const std::vector<Field> fs = fields(run, r);
    if (i == 0) {
      for (const Field& f : fs) out += std::string(f.name) + ",";
      out += "samples_ns,samples_ts\n";
    }
    for (const Field& f : fs) out += quote(f.value) + ",";
    out += quote(join_numbers(r.samples_ns, ";")) + "," + quote(join_numbers(r.samples_ts, ";")) + "\n";
  }
  return out;
}

}  // namespace loci::bench
