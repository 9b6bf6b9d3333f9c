// Reference F32 x F32 product, accumulated left to right in float.
#include "kernels/ref/ref_gemm.h"
#include "kernels/ukernel.h"

namespace {

float as_f32(float v) { return v; }

}  // namespace

void loci_f32_gemm__ref(size_t m, size_t n, size_t k, const void* a, size_t a_stride, const void* w, size_t w_stride,
                        float* c, size_t c_stride) {
  loci::ref::float_gemm<float, as_f32>(m, n, k, a, a_stride, w, w_stride, c, c_stride);
}
