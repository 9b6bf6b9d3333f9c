// The matmul driver: checks arguments, converts activations into the
// workspace, and spreads micro-kernel calls over a fixed tile grid.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "kernels/ukernel.h"
#include "loci/threadpool.h"

namespace loci {
namespace {

// The tile grid is fixed (never derived from the thread count), so every output
// is computed by the same kernel call whatever the number of threads.
constexpr size_t kTileN = 64;
// A gemv streams each weight row once: longer tiles give the prefetchers
// longer runs (each tile starts cold) while leaving a 512-row matrix 2 tiles.
constexpr size_t kGemvTileN = 256;
// Quantized activations are compact, so their tiles are tall: a gemm that packs
// a weight panel reuses it over more rows. Float activation rows are 2-4x
// larger and 256 of them would spill a 2 MiB L2, so they stay at 64.
size_t tile_rows(DType act) { return dtype_info(act)->quantized ? 256 : 64; }

std::string shape_text(size_t m, size_t n, size_t k) {
  return std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
}

}  // namespace

Result<size_t> matmul_workspace_bytes(DType weight, size_t m, size_t k) {
  if (!dtype_info(weight)) return invalid_argument("matmul: unsupported weight dtype");
  const DType act = matmul_activation_dtype(weight);
  if (act == DType::F32) return size_t(0);
  const std::optional<size_t> row = dtype_row_bytes(act, k);
  if (!row) return invalid_argument("matmul: k=" + std::to_string(k) + " is not a whole number of " + dtype_name(act) + " blocks");
  if (m != 0 && *row > (std::numeric_limits<size_t>::max() - kKernelPadding) / m) return out_of_range("matmul: workspace size overflows");
  return *row * m + kKernelPadding;
}

Status matmul(const MatmulArgs& a, ThreadPool* pool) {
  const TensorView& w = a.w;
  const UkernelCandidate* uk = selected_ukernel(w.dtype);
  if (!uk) return unsupported(std::string("matmul: no kernel for weight dtype ") + dtype_name(w.dtype));
  if (w.ne[0] <= 0 || w.ne[1] < 0 || w.ne[2] != 1 || w.ne[3] != 1) return invalid_argument("matmul: weight must be a 2-D, non-empty matrix");
  const size_t k = size_t(w.ne[0]), n = size_t(w.ne[1]), m = a.m;
  if (!w.data || !a.x || !a.y) return invalid_argument("matmul: null weight, input or output");
  const std::optional<size_t> w_row = dtype_row_bytes(w.dtype, k);
  if (!w_row || w.nb[1] < *w_row) return invalid_argument("matmul: weight rows of " + std::to_string(k) + " elements are not whole blocks or overlap");
  if (a.x_stride < k * sizeof(float) || a.y_stride < n * sizeof(float))
    return invalid_argument("matmul: x or y stride is smaller than a row for " + shape_text(m, n, k));
  LOCI_ASSIGN_OR_RETURN(const size_t need, matmul_workspace_bytes(w.dtype, m, k));
  if (a.workspace_bytes < need || (need && !a.workspace))
    return invalid_argument("matmul: workspace of " + std::to_string(a.workspace_bytes) + " bytes, need " + std::to_string(need));
  if (m == 0 || n == 0) return Status::ok();

  // 1. Activations into the kernel's dtype (rows are independent, so parallel).
  const DType act = matmul_activation_dtype(w.dtype);
  const void* act_data = a.x;
  size_t act_stride = a.x_stride;
  if (const ConverterCandidate* conv = selected_converter(act)) {  // none for F32: used in place
    const loci_act_convert_fn convert = conv->fn;
    act_stride = *dtype_row_bytes(act, k);
    auto* ws = static_cast<uint8_t*>(a.workspace);
    const auto* x = reinterpret_cast<const uint8_t*>(a.x);
    parallel_for(pool, m, [&](size_t i) { convert(reinterpret_cast<const float*>(x + i * a.x_stride), ws + i * act_stride, k); });
    act_data = ws;
  }

  // 2. Products over the fixed tile grid.
  const loci_gemm_ukernel_fn fn = m < kGemmMinRows ? uk->gemv : uk->gemm;
  const size_t tile_n = m < kGemmMinRows ? kGemvTileN : kTileN;
  const size_t tiles_n = (n + tile_n - 1) / tile_n;
  const size_t tile_m = tile_rows(act);
  const size_t tiles_m = (m + tile_m - 1) / tile_m;
  const auto* act_bytes = static_cast<const uint8_t*>(act_data);
  const auto* w_bytes = static_cast<const uint8_t*>(w.data);
  auto* y_bytes = reinterpret_cast<uint8_t*>(a.y);
  parallel_for(pool, tiles_m * tiles_n, [&](size_t t) {
    const size_t i0 = (t / tiles_n) * tile_m, j0 = (t % tiles_n) * tile_n;
    const size_t mm = std::min(tile_m, m - i0), nn = std::min(tile_n, n - j0);
    fn(mm, nn, k, act_bytes + i0 * act_stride, act_stride, w_bytes + j0 * w.nb[1], w.nb[1],
       reinterpret_cast<float*>(y_bytes + i0 * a.y_stride) + j0, a.y_stride);
  });
  return Status::ok();
}

}  // namespace loci
