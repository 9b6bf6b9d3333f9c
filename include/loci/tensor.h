// TensorView: a non-owning typed view of up to 4 dims with byte strides.
// Tensor: an owning, aligned buffer that reserves the kernel over-read padding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>

#include "loci/dtype.h"
#include "loci/heap.h"
#include "loci/status.h"

namespace loci {

inline constexpr int kMaxDims = 4;
// Kernels may read (never write) up to this many bytes past a tensor's last
// byte; every loci allocation reserves it. Also the allocation alignment.
inline constexpr size_t kKernelPadding = 64;

// Dimension 0 is the innermost (a row); ne[0] must be a whole number of blocks.
// nb[0] is the bytes of one block; nb[1..3] are the byte strides of dims 1..3.
struct TensorView {
  DType dtype = DType::F32;
  int ndim = 0;
  int64_t ne[kMaxDims] = {1, 1, 1, 1};
  size_t nb[kMaxDims] = {0, 0, 0, 0};
  void* data = nullptr;

  // A contiguous view over `data`. Fails on a row that is not whole blocks,
  // a negative dim, or a size that overflows.
  static Result<TensorView> contiguous(DType dtype, std::initializer_list<int64_t> dims, void* data);

  int64_t rows() const { return ne[1] * ne[2] * ne[3]; }
  int64_t elements() const { return ne[0] * rows(); }
  size_t row_bytes() const;  // bytes of one dim-0 row
  bool is_contiguous() const;
  // Byte size when contiguous (rows() * row_bytes()).
  size_t bytes() const { return size_t(rows()) * row_bytes(); }

  template <typename T = void>
  T* row(int64_t i1, int64_t i2 = 0, int64_t i3 = 0) const {
    return reinterpret_cast<T*>(static_cast<uint8_t*>(data) + i1 * nb[1] + i2 * nb[2] + i3 * nb[3]);
  }
};

// Owns a 64-byte-aligned, contiguous buffer of bytes() + kKernelPadding bytes
// (the padding is zeroed). Move-only.
class Tensor {
 public:
  static Result<Tensor> create(DType dtype, std::initializer_list<int64_t> dims);

  Tensor() = default;
  const TensorView& view() const { return view_; }
  void* data() const { return view_.data; }
  size_t bytes() const { return view_.bytes(); }

 private:
  struct Free {
    void operator()(void* p) const;
  };
  std::unique_ptr<void, Free> storage_;
  TensorView view_;
};


}  // namespace loci
