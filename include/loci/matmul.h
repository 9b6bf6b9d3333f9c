// Matrix products of weights with float activations, on the best kernels this
// CPU runs, chosen once at init.
//
//   y[i][j] = sum_k x[i][k] * W[j][k]      (x: m x k float, W: n x k, y: m x n)
//
// The activation rows are first converted to the weight's partner dtype
// (matmul_activation_dtype), as llama.cpp does, into a caller-provided
// workspace, so a matmul never allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "loci/dtype.h"
#include "loci/status.h"
#include "loci/tensor.h"

namespace loci {

class ThreadPool;

// Instruction-set levels, ordered within each architecture: a level implies the
// ones below it. Values are stable (the C ABI reports them).
enum class Isa : int32_t {
  kRef = 0,
  kAvx2 = 1,        // AVX2 + FMA + F16C
  kAvx512 = 2,      // AVX-512 F/BW/VL/DQ
  kAvx512Vnni = 3,  // + AVX-512 VNNI
  kNeon = 10,       // aarch64 Advanced SIMD
  kDotprod = 11,    // + SDOT/UDOT
  kI8mm = 12,       // + SMMLA
};

const char* isa_name(Isa isa);                        // "ref", "avx2", ..., "i8mm"
std::optional<Isa> isa_from_name(std::string_view s);  // inverse of isa_name
Isa host_isa();           // the best level this CPU supports
bool isa_supported(Isa);  // this CPU can run kernels of this level

// Caps kernel selection at `cap`: only kernels of that level or below (in the
// host's architecture) are chosen. The LOCI_ISA environment variable sets the
// initial cap. A cap naming the other architecture leaves only ref kernels.
// Not thread-safe against concurrent matmuls: set it at startup.
void set_isa_cap(Isa cap);
Isa isa_cap();

struct MatmulKernelInfo {
  DType weight;
  DType activation;
  Isa gemv_isa;  // used when the product has fewer than kGemmMinRows rows
  const char* gemv_name;
  Isa gemm_isa;
  const char* gemm_name;
  // Turns the float activations into `activation`; nullptr when they stay f32.
  const char* convert_name = nullptr;
};
inline constexpr size_t kGemmMinRows = 4;

// Which kernels each product uses under the current cap.
Result<MatmulKernelInfo> matmul_kernel_info(DType weight);
std::vector<MatmulKernelInfo> matmul_kernel_report();

// Workspace bytes matmul needs for m activation rows of k elements against
// weights of dtype `weight` (0 when the activation stays f32).
Result<size_t> matmul_workspace_bytes(DType weight, size_t m, size_t k);

struct MatmulArgs {
  TensorView w;             // n rows (ne[1]) of k elements (ne[0]); rows nb[1] apart
  const float* x = nullptr;  // m rows of k floats
  size_t x_stride = 0;       // bytes between x rows
  size_t m = 0;
  float* y = nullptr;  // m rows of n floats
  size_t y_stride = 0;  // bytes between y rows
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};

// Bit-identical results for any thread count (work is cut on a fixed grid and
// each output is reduced in a fixed order). pool may be null (run inline).
Status matmul(const MatmulArgs& args, ThreadPool* pool);

}  // namespace loci
