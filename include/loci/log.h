// Where loci's messages go. The library never writes to stdout or stderr:
// with no sink set, messages are dropped.
#pragma once

#include <cstdint>

namespace loci {

enum class LogLevel : int32_t { kError = 1, kWarn = 2, kInfo = 3, kDebug = 4 };

// Receives one line, without a trailing newline.
using LogSink = void (*)(void* user, LogLevel level, const char* message);

// Sends messages at `max_level` and more severe to `sink`; null drops them all.
void set_log_sink(LogSink sink, void* user, LogLevel max_level);

namespace detail {
bool log_enabled(LogLevel level);
// printf-style; formats only when a sink wants the level.
void log(LogLevel level, const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
}  // namespace detail

}  // namespace loci
