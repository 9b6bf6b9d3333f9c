#include "loci/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

namespace loci {

void Tensor::Free::operator()(void* p) const { aligned_free(p); }

Result<TensorView> TensorView::contiguous(DType dtype, std::initializer_list<int64_t> dims, void* data) {
  const DTypeInfo* info = dtype_info(dtype);
  if (!info) return invalid_argument("tensor: unsupported dtype " + std::to_string(uint32_t(dtype)));
  if (dims.size() == 0 || dims.size() > size_t(kMaxDims))
    return invalid_argument("tensor: needs 1 to 4 dims, got " + std::to_string(dims.size()));
  TensorView v;
  v.dtype = dtype;
  v.ndim = int(dims.size());
  int i = 0;
  for (int64_t d : dims) {
    if (d < 0) return invalid_argument("tensor: negative dim " + std::to_string(d));
    v.ne[i++] = d;
  }
  const auto row = dtype_row_bytes(dtype, size_t(v.ne[0]));
  if (!row)
    return invalid_argument(std::string("tensor: row of ") + std::to_string(v.ne[0]) + " elements is not a whole number of " +
                            info->name + " blocks");
  v.nb[0] = info->block_bytes;
  v.nb[1] = *row;
  for (int d = 2; d < kMaxDims; ++d) {
    if (v.ne[d - 1] != 0 && v.nb[d - 1] > std::numeric_limits<size_t>::max() / size_t(v.ne[d - 1]))
      return out_of_range("tensor: size overflows");
    v.nb[d] = v.nb[d - 1] * size_t(v.ne[d - 1]);
  }
  if (v.ne[3] != 0 && v.nb[3] > std::numeric_limits<size_t>::max() / size_t(v.ne[3]))
    return out_of_range("tensor: size overflows");
  v.data = data;
  return v;
}

size_t TensorView::row_bytes() const { return dtype_row_bytes(dtype, size_t(ne[0])).value_or(0); }

bool TensorView::is_contiguous() const {
  size_t expect = row_bytes();
  for (int d = 1; d < kMaxDims; ++d) {
    if (ne[d] > 1 && nb[d] != expect) return false;
    expect *= size_t(ne[d]);
  }
  return true;
}

Result<Tensor> Tensor::create(DType dtype, std::initializer_list<int64_t> dims) {
  LOCI_ASSIGN_OR_RETURN(TensorView v, TensorView::contiguous(dtype, dims, nullptr));
  const size_t total = v.nb[3] * size_t(v.ne[3]);
  if (total > std::numeric_limits<size_t>::max() - kKernelPadding) return out_of_range("tensor: size overflows");
  void* p = aligned_alloc_or_null(total + kKernelPadding);
  if (!p) return out_of_memory("tensor: cannot allocate " + std::to_string(total) + " bytes");
  std::memset(static_cast<uint8_t*>(p) + total, 0, kKernelPadding);
  Tensor t;
  t.storage_.reset(p);
  v.data = p;
  t.view_ = v;
  return t;
}

}  // namespace loci
