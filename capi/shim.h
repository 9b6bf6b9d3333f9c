// What every C shim shares: the handle structs, the per-thread last error,
// the struct_size rules, and the guard that keeps exceptions inside.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "loci.h"
#include "loci/heap.h"
#include "loci/model.h"
#include "loci/sampler.h"
#include "loci/status.h"

#define LOCI_STR2_(x) #x
#define LOCI_STR_(x) LOCI_STR2_(x)
#define LOCI_VERSION_STRING_ \
  LOCI_STR_(LOCI_VERSION_MAJOR) "." LOCI_STR_(LOCI_VERSION_MINOR) "." LOCI_STR_(LOCI_VERSION_PATCH)

struct loci_model {
  std::shared_ptr<const loci::Model> model;
  std::string name;               // general.name, NUL-terminated for loci_model_info
  std::vector<std::string> keys;  // metadata keys, NUL-terminated for loci_model_meta_key
};

struct loci_session {
  std::unique_ptr<loci::Session> session;
  // Why the cancel hook fired during the current call.
  enum class Stop : int32_t { kNone, kCancel, kDeadline };
  std::atomic<bool> cancel_requested{false};
  loci_cancel_callback cancel = nullptr;
  void* cancel_user = nullptr;
  uint32_t timeout_ms = 0;
  bool has_deadline = false;
  std::chrono::steady_clock::time_point deadline;
  Stop stop = Stop::kNone;
};

struct loci_sampler {
  std::unique_ptr<loci::Sampler> sampler;
};

namespace loci::capi {

// Records `s` as this thread's last error and returns its code.
loci_status fail(const Status& s);
inline loci_status fail(StatusCode code, const char* message) { return fail(Status(code, message)); }
// Converts a Status, recording it when it is an error.
inline loci_status to_c(const Status& s) { return s.is_ok() ? LOCI_OK : fail(s); }

// Runs `body` (returning loci_status), turning any exception into a status:
// bad_alloc into LOCI_ERR_OUT_OF_MEMORY, anything else into LOCI_ERR_INTERNAL.
template <typename F>
loci_status guarded(const char* what, F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(Status(StatusCode::kOutOfMemory, std::string(what) + ": out of memory"));
  } catch (const std::exception& e) {
    return fail(Status(StatusCode::kInternal, std::string(what) + ": " + e.what()));
  } catch (...) {
    return fail(StatusCode::kInternal, "unknown exception");
  }
}

// Returns the C status of a failing Status expression from a shim body.
#define LOCI_RETURN_C_IF_ERROR(expr)                          \
  do {                                                        \
    const ::loci::Status loci_c_status_ = (expr);             \
    if (!loci_c_status_.is_ok()) return fail(loci_c_status_); \
  } while (0)

// Reads a caller's parameter struct over `out`, which holds the defaults:
// only the bytes its struct_size covers, and refuses bytes past what this
// library knows unless they are zero (a newer header's fields at their
// defaults). A null `in` keeps the defaults.
template <typename T>
Status read_params(const T* in, T* out, const char* what) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (!in) return Status::ok();
  uint32_t size = 0;
  std::memcpy(&size, in, sizeof size);
  if (size < sizeof(uint32_t))
    return {StatusCode::kAbiMismatch, std::string(what) + ": struct_size " + std::to_string(size) +
                                          " is too small; fill the struct with its _init function"};
  const auto* bytes = reinterpret_cast<const unsigned char*>(in);
  for (size_t i = sizeof(T); i < size; ++i)
    if (bytes[i] != 0)
      return {StatusCode::kAbiMismatch, std::string(what) + ": byte " + std::to_string(i) +
                                            " sets a field this library (loci " + LOCI_VERSION_STRING_ +
                                            ", struct of " + std::to_string(sizeof(T)) + " bytes) does not know"};
  const size_t n = std::min<size_t>(size, sizeof(T));
  std::memcpy(reinterpret_cast<unsigned char*>(out) + sizeof(uint32_t), bytes + sizeof(uint32_t),
              n - sizeof(uint32_t));
  return Status::ok();
}

// A result struct must at least say its size.
template <typename T>
Status check_result(const T* out, const char* what) {
  if (!out) return invalid_argument(std::string(what) + ": null result");
  uint32_t size = 0;
  std::memcpy(&size, out, sizeof size);
  if (size < sizeof(uint32_t))
    return {StatusCode::kAbiMismatch, std::string(what) + ": struct_size " + std::to_string(size) +
                                          " is too small; fill the struct with its _init function"};
  return Status::ok();
}

// Writes `full` into the caller's result struct, only as far as its
// struct_size covers.
template <typename T>
Status write_result(const T& full, T* out, const char* what) {
  static_assert(std::is_trivially_copyable_v<T>);
  LOCI_RETURN_IF_ERROR(check_result(out, what));
  const size_t n = std::min<size_t>(out->struct_size, sizeof(T));
  std::memcpy(reinterpret_cast<unsigned char*>(out) + sizeof(uint32_t),
              reinterpret_cast<const unsigned char*>(&full) + sizeof(uint32_t), n - sizeof(uint32_t));
  return Status::ok();
}

// Zeroes a struct and sets its struct_size: the start of every _init.
template <typename T>
void init_struct(T* p) {
  if (!p) return;
  std::memset(p, 0, sizeof *p);
  p->struct_size = sizeof *p;
}

// Handles live in blocks from the caller's allocator (loci_set_allocator).
template <typename T>
T* new_handle() {
  void* p = aligned_alloc_or_null(sizeof(T), 64);
  return p ? new (p) T() : nullptr;
}
template <typename T>
void delete_handle(T* h) {
  if (!h) return;
  h->~T();
  aligned_free(h);
}

template <typename T>
struct HandleDeleter {
  void operator()(T* h) const { delete_handle(h); }
};
// Owns a handle until it is given to the caller.
template <typename T>
using HandlePtr = std::unique_ptr<T, HandleDeleter<T>>;

// Refuses values the runtime cannot honour (an unknown kv_type).
Result<SessionOptions> session_options(const loci_session_params& p);
// A call on a session: begin starts its timeout clock; end drops a cancel
// request that came too late to stop it, so none outlives its call; and
// finish turns the runtime's kCancelled into the reason the hook fired.
void begin_call(loci_session* s);
void end_call(loci_session* s);
Status stop_status(const loci_session* s, const char* what);
Status finish_call(const loci_session* s, Status status, const char* what);
Status null_argument(const char* what);
loci_memory_estimate to_c(const MemoryEstimate& m);

}  // namespace loci::capi
