// The matmul micro-kernel contract, shared by every ISA variant.
#pragma once

#include <cstddef>

#include "loci/dtype.h"
#include "loci/matmul.h"

// c[i][j] = dot(a row i, w row j) for i < m, j < n, over k elements.
//   a: m activation rows, a_stride bytes apart, in the product's activation dtype
//   w: n weight rows, w_stride bytes apart, in the product's weight dtype
//   c: float outputs; row i starts at (char*)c + i * c_stride
// k is a whole number of blocks of both dtypes. Both a product's gemv and gemm
// accept any m >= 1 (the driver's last tile may hold a single row). A kernel never allocates and
// never fails, and reads at most kKernelPadding bytes past its inputs.
// Each c[i][j] must depend only on a row i and w row j (not on m, n or where
// the call's tile starts), so that results do not depend on threading.
using loci_gemm_ukernel_fn = void (*)(size_t m, size_t n, size_t k, const void* a, size_t a_stride,
                                      const void* w, size_t w_stride, float* c, size_t c_stride);

namespace loci {

// One compiled implementation of one product.
struct UkernelCandidate {
  DType weight;
  Isa isa;
  loci_gemm_ukernel_fn gemv;  // tuned for m < kGemmMinRows
  loci_gemm_ukernel_fn gemm;  // tuned for many rows
  const char* gemv_name;
  const char* gemm_name;
};

// Every candidate compiled into this binary, for any CPU (tests walk this).
const UkernelCandidate* all_ukernel_candidates(size_t* count);
// The chosen candidate for `weight` under the current cap, or nullptr.
const UkernelCandidate* selected_ukernel(DType weight);
// The reference candidate for `weight`, or nullptr.
const UkernelCandidate* reference_ukernel(DType weight);

}  // namespace loci
