// get_rows: gather rows of a tensor of any dtype into f32 rows, through the
// generic dequantizer (so every format loci reads is covered in one place).
#include <cstdint>
#include <string>

#include "loci/ops.h"
#include "loci/quant.h"

namespace loci::ops {
namespace {

Status check_source(const TensorView& src) {
  if (!dtype_info(src.dtype)) return unsupported("get_rows: unsupported dtype " + std::to_string(uint32_t(src.dtype)));
  for (int d = 0; d < kMaxDims; ++d)
    if (src.ne[d] < 0) return invalid_argument("get_rows: negative dim " + std::to_string(src.ne[d]));
  if (!dtype_row_bytes(src.dtype, size_t(src.ne[0])))
    return invalid_argument("get_rows: row of " + std::to_string(src.ne[0]) + " elements is not whole " +
                            dtype_name(src.dtype) + " blocks");
  return Status::ok();
}

Status check_ids(const int32_t* ids, size_t n_ids, int64_t rows) {
  if (!ids) return invalid_argument("get_rows: ids is null");
  for (size_t i = 0; i < n_ids; ++i)
    if (ids[i] < 0 || ids[i] >= rows)
      return out_of_range("get_rows: ids[" + std::to_string(i) + "] = " + std::to_string(ids[i]) + " is outside [0, " +
                          std::to_string(rows) + ")");
  return Status::ok();
}

Status check_output(const float* y, size_t y_stride, size_t n_ids, size_t n) {
  if (n == 0) return Status::ok();
  if (!y) return invalid_argument("get_rows: y is null");
  if (reinterpret_cast<uintptr_t>(y) % alignof(float) != 0) return invalid_argument("get_rows: y is misaligned");
  if (n_ids > 1 && (y_stride % sizeof(float) != 0 || y_stride / sizeof(float) < n))
    return invalid_argument("get_rows: y stride of " + std::to_string(y_stride) + " bytes is not whole floats of a " +
                            std::to_string(n) + "-float row");
  return Status::ok();
}

}  // namespace

Status get_rows(const TensorView& src, const int32_t* ids, size_t n_ids, float* y, size_t y_stride) {
  if (n_ids == 0) return Status::ok();
  LOCI_RETURN_IF_ERROR(check_source(src));
  LOCI_RETURN_IF_ERROR(check_ids(ids, n_ids, src.rows()));
  const size_t n = size_t(src.ne[0]);
  LOCI_RETURN_IF_ERROR(check_output(y, y_stride, n_ids, n));
  if (n == 0) return Status::ok();
  if (!src.data) return invalid_argument("get_rows: src data is null");
  auto* out = reinterpret_cast<uint8_t*>(y);
  for (size_t i = 0; i < n_ids; ++i) {
    const int64_t r = ids[i];
    const void* row = src.row(r % src.ne[1], r / src.ne[1] % src.ne[2], r / (src.ne[1] * src.ne[2]));
    LOCI_RETURN_IF_ERROR(dequantize_row(src.dtype, row, reinterpret_cast<float*>(out + i * y_stride), n));
  }
  return Status::ok();
}

}  // namespace loci::ops
