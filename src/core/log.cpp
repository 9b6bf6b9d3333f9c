#include "loci/log.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace loci {
namespace {

struct Sink {
  LogSink fn = nullptr;
  void* user = nullptr;
};

std::mutex g_mutex;  // guards g_sink; the level is read lock-free as a fast filter
Sink g_sink;
std::atomic<int32_t> g_max_level{0};

}  // namespace

void set_log_sink(LogSink sink, void* user, LogLevel max_level) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_sink = {sink, user};
  g_max_level.store(sink ? int32_t(max_level) : 0);
}

namespace detail {

bool log_enabled(LogLevel level) { return int32_t(level) <= g_max_level.load(std::memory_order_relaxed); }

void log(LogLevel level, const char* format, ...) {
  if (!log_enabled(level)) return;
  char line[512];  // on the stack: logging must not allocate
  va_list args;
  va_start(args, format);
  std::vsnprintf(line, sizeof line, format, args);
  va_end(args);
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_sink.fn && int32_t(level) <= g_max_level.load()) g_sink.fn(g_sink.user, level, line);
}

}  // namespace detail
}  // namespace loci
