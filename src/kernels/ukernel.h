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

// Converts one row of k floats into the activation dtype at y (k is a whole
// number of that dtype's blocks). Every converter writes exactly the bytes of
// the reference one (activations.cpp) for every input, NaN and inf included,
// so the choice never changes a result. Never allocates, never fails.
using loci_act_convert_fn = void (*)(const float* x, void* y, size_t k);

namespace loci {

// One compiled activation converter (F16, BF16, Q8_0, Q8_1 or Q8_K).
struct ConverterCandidate {
  DType act;
  Isa isa;
  loci_act_convert_fn fn;
  const char* name;
};

// Every converter compiled into this binary, for any CPU (tests walk this).
const ConverterCandidate* all_converter_candidates(size_t* count);
// The chosen converter for activation dtype `act` under the current cap, or
// nullptr (F32 activations are used in place).
const ConverterCandidate* selected_converter(DType act);
// The reference converter for `act`, or nullptr.
const ConverterCandidate* reference_converter(DType act);

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
