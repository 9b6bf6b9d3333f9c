// Reference BF16 x BF16 product: both sides widened to f32 exactly, multiplied
// and accumulated left to right in f32.
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"

void loci_bf16_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride,
                         float* c, size_t c_stride) {
  loci::ref::float_gemm<uint16_t, loci::bf16_to_f32>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
