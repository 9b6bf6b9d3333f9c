// Reference Q8_0 x Q8_0 product: per block, an exact integer dot product
// scaled by both block scales, accumulated in block order.
#include <cstdint>

#include "kernels/ukernel.h"
#include "loci/fp16.h"

namespace {

float dot_q8_0_q8_0(const loci::BlockQ8_0* w, const loci::BlockQ8_0* a, size_t blocks) {
  float sum = 0.0f;
  for (size_t b = 0; b < blocks; ++b) {
    int32_t isum = 0;
    for (size_t j = 0; j < loci::kQK; ++j) isum += int32_t(w[b].qs[j]) * int32_t(a[b].qs[j]);
    sum += float(isum) * (loci::fp16_to_f32(w[b].d) * loci::fp16_to_f32(a[b].d));
  }
  return sum;
}

}  // namespace

void loci_q8_0_q8_0_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w,
                              size_t w_stride, float* c, size_t c_stride) {
  const auto* ab = static_cast<const uint8_t*>(a);
  const auto* wb = static_cast<const uint8_t*>(w);
  for (size_t i = 0; i < m; ++i) {
    float* ci = reinterpret_cast<float*>(reinterpret_cast<uint8_t*>(c) + i * c_stride);
    for (size_t j = 0; j < n; ++j)
      ci[j] = dot_q8_0_q8_0(reinterpret_cast<const loci::BlockQ8_0*>(wb + j * w_stride),
                            reinterpret_cast<const loci::BlockQ8_0*>(ab + i * a_stride), k / loci::kQK);
  }
}
