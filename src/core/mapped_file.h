// A whole file mapped read-only, followed by at least kKernelPadding readable
// zero bytes so kernels may over-read the last tensor safely.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "loci/status.h"

namespace loci::detail {

class MappedFile {
 public:
  static Result<std::unique_ptr<MappedFile>> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  size_t reserved_ = 0;  // bytes of address space reserved (file + padding)
};

}  // namespace loci::detail
