// C shims over the C++ core: versions, status names and ISA selection.
// Nothing here throws: every function is noexcept and only reads tables.
#include "loci.h"
#include "loci/matmul.h"
#include "loci/status.h"

static_assert(LOCI_OK == int32_t(loci::StatusCode::kOk) &&
                  LOCI_ERR_INVALID_ARGUMENT == int32_t(loci::StatusCode::kInvalidArgument) &&
                  LOCI_ERR_OUT_OF_RANGE == int32_t(loci::StatusCode::kOutOfRange) &&
                  LOCI_ERR_UNSUPPORTED == int32_t(loci::StatusCode::kUnsupported) &&
                  LOCI_ERR_OUT_OF_MEMORY == int32_t(loci::StatusCode::kOutOfMemory) &&
                  LOCI_ERR_IO == int32_t(loci::StatusCode::kIoError) &&
                  LOCI_ERR_CANCELLED == int32_t(loci::StatusCode::kCancelled) &&
                  LOCI_ERR_INVALID_MODEL == int32_t(loci::StatusCode::kInvalidModel) &&
                  LOCI_ERR_INTERNAL == int32_t(loci::StatusCode::kInternal),
              "C status codes mirror loci::StatusCode");
static_assert(LOCI_ISA_REF == int32_t(loci::Isa::kRef) && LOCI_ISA_AVX2 == int32_t(loci::Isa::kAvx2) &&
                  LOCI_ISA_AVX512 == int32_t(loci::Isa::kAvx512) &&
                  LOCI_ISA_AVX512VNNI == int32_t(loci::Isa::kAvx512Vnni) &&
                  LOCI_ISA_NEON == int32_t(loci::Isa::kNeon) && LOCI_ISA_DOTPROD == int32_t(loci::Isa::kDotprod) &&
                  LOCI_ISA_I8MM == int32_t(loci::Isa::kI8mm),
              "C ISA values mirror loci::Isa");

namespace {
bool known_isa(loci_isa isa) { return loci::isa_name(loci::Isa(isa)) != std::string_view("unknown"); }
}  // namespace

extern "C" {

int32_t loci_version_number(void) { return LOCI_VERSION_NUMBER; }
int32_t loci_abi_version(void) { return LOCI_ABI_VERSION; }

const char* loci_status_string(loci_status status) {
  return loci::status_code_name(loci::StatusCode(status));
}

loci_isa loci_isa_host(void) { return loci_isa(loci::host_isa()); }
loci_isa loci_isa_cap(void) { return loci_isa(loci::isa_cap()); }

loci_status loci_set_isa_cap(loci_isa cap) {
  if (!known_isa(cap)) return LOCI_ERR_INVALID_ARGUMENT;
  loci::set_isa_cap(loci::Isa(cap));
  return LOCI_OK;
}

const char* loci_isa_name(loci_isa isa) { return loci::isa_name(loci::Isa(isa)); }

}  // extern "C"
