// Reference F32 x F32 product, accumulated left to right in float.
#include <cstdint>

#include "kernels/ukernel.h"

void loci_f32_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride,
                        float* c, size_t c_stride) {
  const auto* ab = static_cast<const uint8_t*>(a);
  const auto* wb = static_cast<const uint8_t*>(w);
  for (size_t i = 0; i < m; ++i) {
    const auto* ai = reinterpret_cast<const float*>(ab + i * a_stride);
    float* ci = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(c) + i * c_stride);
    for (size_t j = 0; j < n; ++j) {
      const auto* wj = reinterpret_cast<const float*>(wb + j * w_stride);
      float sum = 0.0f;
      for (size_t p = 0; p < k; ++p) sum += ai[p] * wj[p];
      ci[j] = sum;
    }
  }
}
