// Reference F32 x F32 product, accumulated left to right in float.
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"

namespace {

float dot_f32(const float* w, const float* a, size_t k) {
  float sum = 0.0f;
  for (size_t p = 0; p < k; ++p) sum += a[p] * w[p];
  return sum;
}

}  // namespace

void loci_f32_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride,
                        float* c, size_t c_stride) {
  loci::ref::gemm_rows<float, float>(m, n, k, a, a_stride, w, w_stride, c, c_stride, dot_f32);
}
