// Status and Result<T>: how every fallible call in loci reports failure.
// Nothing in the library aborts or throws on bad input; it returns one of these.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace loci {

// Values are stable: the C ABI mirrors them, so never renumber.
enum class StatusCode : int32_t {
  kOk = 0,
  kInvalidArgument = 100,  // the caller passed something malformed
  kOutOfRange = 101,       // an index, size or count exceeds its limit
  kUnsupported = 102,      // valid, but not implemented for this type/shape/CPU
  kBufferTooSmall = 103,   // the caller's buffer cannot hold the result
  kNotFound = 104,         // no such key or name
  kOutOfMemory = 200,      // an allocation failed
  kIoError = 201,          // open/read/map failed
  kCancelled = 202,        // the caller asked to stop
  kDeadlineExceeded = 203, // the call ran out of its time
  kInvalidModel = 300,     // the model file is malformed or inconsistent
  kAbiMismatch = 400,      // a C caller's struct cannot be honoured by this library
  kInternal = 900,         // a loci bug: an invariant did not hold
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_model: tensor 'x' ..." for logs and tests.
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status out_of_range(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status out_of_memory(std::string m) { return {StatusCode::kOutOfMemory, std::move(m)}; }
inline Status io_error(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status invalid_model(std::string m) { return {StatusCode::kInvalidModel, std::move(m)}; }
inline Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<T, Status>, "Result<Status> makes no sense");

 public:
  Result(T value) : v_(std::in_place_index<1>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::in_place_index<0>, std::move(status)) {  // NOLINT
    if (std::get<0>(v_).is_ok()) v_.template emplace<0>(StatusCode::kInternal, "Result built from an OK Status");
  }

  bool is_ok() const { return v_.index() == 1; }
  explicit operator bool() const { return is_ok(); }

  // Precondition: is_ok(). Checked with assert only; callers test first.
  T& value() & { return std::get<1>(v_); }
  const T& value() const& { return std::get<1>(v_); }
  T&& value() && { return std::get<1>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  Status status() const { return is_ok() ? Status() : std::get<0>(v_); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace loci

#define LOCI_CONCAT_INNER_(a, b) a##b
#define LOCI_CONCAT_(a, b) LOCI_CONCAT_INNER_(a, b)

// Returns the Status of `expr` from the enclosing function if it is not OK.
#define LOCI_RETURN_IF_ERROR(expr)                 \
  do {                                             \
    ::loci::Status loci_status_ = (expr);          \
    if (!loci_status_.is_ok()) return loci_status_; \
  } while (0)

// `LOCI_ASSIGN_OR_RETURN(auto x, make_x());` declares x from a Result or returns its error.
#define LOCI_ASSIGN_OR_RETURN(lhs, expr) LOCI_ASSIGN_OR_RETURN_IMPL_(LOCI_CONCAT_(loci_result_, __LINE__), lhs, expr)
#define LOCI_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.is_ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
