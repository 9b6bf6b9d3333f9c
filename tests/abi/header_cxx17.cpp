// loci.h included from strict C++17 (-pedantic, warnings are errors): the
// extern "C" block, the macros and the typedefs must all be clean C++.
#include "loci.h"

#include <type_traits>

static_assert(std::is_standard_layout<loci_session_params>::value, "C structs stay standard-layout in C++");
static_assert(std::is_trivially_copyable<loci_generate_result>::value, "C structs stay trivially copyable in C++");
static_assert(std::is_same<decltype(&loci_model_load),
                           loci_status (*)(const char*, const loci_model_params*, loci_model**)>::value,
              "loci_model_load keeps its C signature in C++");

namespace {
// A C++ lambda without captures converts to a published callback type.
const loci_text_callback kText = [](void*, const char*, size_t) -> int32_t { return 0; };
}  // namespace

int loci_abi_cxx17_check();
int loci_abi_cxx17_check() {
  loci_memory_estimate estimate{};
  estimate.struct_size = sizeof estimate;
  return kText(nullptr, "", 0) + static_cast<int>(estimate.struct_size) + LOCI_ERR_BUFFER_TOO_SMALL;
}
