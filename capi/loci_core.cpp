// C shims for the process-wide pieces: versions, status names and the last
// error, logging, the allocator, and ISA selection.
#include <cstdio>

#include "loci/log.h"
#include "loci/matmul.h"
#include "shim.h"

static_assert(LOCI_OK == int32_t(loci::StatusCode::kOk) &&
                  LOCI_ERR_INVALID_ARGUMENT == int32_t(loci::StatusCode::kInvalidArgument) &&
                  LOCI_ERR_OUT_OF_RANGE == int32_t(loci::StatusCode::kOutOfRange) &&
                  LOCI_ERR_UNSUPPORTED == int32_t(loci::StatusCode::kUnsupported) &&
                  LOCI_ERR_BUFFER_TOO_SMALL == int32_t(loci::StatusCode::kBufferTooSmall) &&
                  LOCI_ERR_NOT_FOUND == int32_t(loci::StatusCode::kNotFound) &&
                  LOCI_ERR_OUT_OF_MEMORY == int32_t(loci::StatusCode::kOutOfMemory) &&
                  LOCI_ERR_IO == int32_t(loci::StatusCode::kIoError) &&
                  LOCI_ERR_CANCELLED == int32_t(loci::StatusCode::kCancelled) &&
                  LOCI_ERR_DEADLINE_EXCEEDED == int32_t(loci::StatusCode::kDeadlineExceeded) &&
                  LOCI_ERR_INVALID_MODEL == int32_t(loci::StatusCode::kInvalidModel) &&
                  LOCI_ERR_ABI_MISMATCH == int32_t(loci::StatusCode::kAbiMismatch) &&
                  LOCI_ERR_INTERNAL == int32_t(loci::StatusCode::kInternal),
              "C status codes mirror loci::StatusCode");
static_assert(LOCI_ISA_REF == int32_t(loci::Isa::kRef) && LOCI_ISA_AVX2 == int32_t(loci::Isa::kAvx2) &&
                  LOCI_ISA_AVX512 == int32_t(loci::Isa::kAvx512) &&
                  LOCI_ISA_AVX512VNNI == int32_t(loci::Isa::kAvx512Vnni) &&
                  LOCI_ISA_NEON == int32_t(loci::Isa::kNeon) && LOCI_ISA_DOTPROD == int32_t(loci::Isa::kDotprod) &&
                  LOCI_ISA_I8MM == int32_t(loci::Isa::kI8mm),
              "C ISA values mirror loci::Isa");
static_assert(LOCI_LOG_ERROR == int32_t(loci::LogLevel::kError) && LOCI_LOG_DEBUG == int32_t(loci::LogLevel::kDebug),
              "C log levels mirror loci::LogLevel");

namespace loci::capi {
namespace {

// A fixed per-thread buffer: recording an error must not allocate.
thread_local char t_last_error[1024];

bool known_isa(loci_isa isa) { return isa_name(Isa(isa)) != std::string_view("unknown"); }

struct LogTarget {
  loci_log_callback fn = nullptr;
  void* user = nullptr;
};
LogTarget g_log;  // written only by loci_set_log_callback, under log.cpp's lock

void forward_log(void* user, LogLevel level, const char* message) {
  auto* t = static_cast<LogTarget*>(user);
  if (t->fn) t->fn(t->user, loci_log_level(level), message);
}

}  // namespace

loci_status fail(const Status& s) {
  std::snprintf(t_last_error, sizeof t_last_error, "%s: %s", status_code_name(s.code()), s.message().c_str());
  return loci_status(s.code());
}

Status null_argument(const char* what) { return invalid_argument(std::string(what) + " is NULL"); }

}  // namespace loci::capi

using namespace loci::capi;

extern "C" {

int32_t loci_version_number(void) { return LOCI_VERSION_NUMBER; }
int32_t loci_abi_version(void) { return LOCI_ABI_VERSION; }
const char* loci_version_string(void) { return LOCI_VERSION_STRING_; }

const char* loci_status_string(loci_status status) { return loci::status_code_name(loci::StatusCode(status)); }
const char* loci_last_error(void) { return t_last_error; }

void loci_set_log_callback(loci_log_callback callback, void* user, loci_log_level max_level) {
  // Detach first, so no message reaches a half-updated target.
  loci::set_log_sink(nullptr, nullptr, loci::LogLevel::kError);
  g_log = {callback, user};
  if (callback) loci::set_log_sink(forward_log, &g_log, loci::LogLevel(max_level));
}

void loci_allocator_init(loci_allocator* allocator) { init_struct(allocator); }

loci_status loci_set_allocator(const loci_allocator* allocator) {
  return guarded("loci_set_allocator", [&] {
    if (!allocator) return to_c(loci::set_heap_hooks(nullptr));
    loci_allocator a;
    init_struct(&a);
    LOCI_RETURN_C_IF_ERROR(read_params(allocator, &a, "loci_set_allocator"));
    if (a.reserved != 0) return fail(loci::invalid_argument("loci_allocator: reserved must be 0"));
    loci::HeapHooks hooks;
    hooks.user = a.user;
    hooks.alloc = a.alloc;
    hooks.free = a.free;
    return to_c(loci::set_heap_hooks(&hooks));
  });
}

loci_isa loci_isa_host(void) { return loci_isa(loci::host_isa()); }
loci_isa loci_isa_cap(void) { return loci_isa(loci::isa_cap()); }
loci_isa loci_isa_active(void) {
  // As dispatch chooses: the best level this CPU runs that the cap allows;
  // a cap from the other architecture family allows only ref.
  const int32_t cap = int32_t(loci::isa_cap());
  const auto arm = [](int32_t isa) { return isa >= LOCI_ISA_NEON; };
  loci_isa best = LOCI_ISA_REF;
  for (loci_isa isa : {LOCI_ISA_AVX2, LOCI_ISA_AVX512, LOCI_ISA_AVX512VNNI, LOCI_ISA_NEON, LOCI_ISA_DOTPROD, LOCI_ISA_I8MM})
    if (arm(isa) == arm(cap) && isa <= cap && loci::isa_supported(loci::Isa(isa))) best = isa;
  return best;
}

loci_status loci_set_isa_cap(loci_isa cap) {
  if (!known_isa(cap)) return fail(loci::invalid_argument("loci_set_isa_cap: unknown ISA " + std::to_string(cap)));
  loci::set_isa_cap(loci::Isa(cap));
  return LOCI_OK;
}

const char* loci_isa_name(loci_isa isa) { return loci::isa_name(loci::Isa(isa)); }

}  // extern "C"
