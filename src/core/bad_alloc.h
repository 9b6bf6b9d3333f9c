// The C++ API reports errors as Status, but standard containers report a
// failed allocation by throwing. Public entry points that fill containers run
// their body through this, so std::bad_alloc comes back as kOutOfMemory.
#pragma once

#include <new>
#include <string>

#include "loci/status.h"

namespace loci::detail {

template <typename F>
auto bad_alloc_as_status(const char* what, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return out_of_memory(std::string(what) + ": out of memory");
  }
}

}  // namespace loci::detail
