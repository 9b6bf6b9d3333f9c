// The scale search every symmetric quantizer starts from.
#pragma once

#include <cmath>
#include <cstddef>

namespace loci {

// The element of largest magnitude, sign kept (the first one on ties; NaNs
// are passed over, and 0 means every element is zero).
inline float signed_absmax(const float* x, size_t n) {
  float amax = 0.0f, max = 0.0f;
  for (size_t j = 0; j < n; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

}  // namespace loci
