// Reference BF16 x BF16 product: both sides widened to f32 exactly, multiplied
// and accumulated left to right in f32.
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"
#include "loci/fp16.h"

namespace {

float dot_bf16(const uint16_t* w, const uint16_t* a, size_t k) {
  float sum = 0.0f;
  for (size_t p = 0; p < k; ++p) sum += loci::bf16_to_f32(w[p]) * loci::bf16_to_f32(a[p]);
  return sum;
}

}  // namespace

void loci_bf16_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride,
                         float* c, size_t c_stride) {
  loci::ref::gemm_rows<uint16_t, uint16_t>(m, n, k, a, a_stride, w, w_stride, c, c_stride, dot_bf16);
}
