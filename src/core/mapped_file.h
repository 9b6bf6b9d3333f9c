// A whole file mapped read-only, followed by at least kKernelPadding readable
// zero bytes so kernels may over-read the last tensor safely. The descriptor
// stays open so that a later truncation or rewrite can be detected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "loci/status.h"

namespace loci::detail {

// Decoding streams every weight once per token, and with 4 KiB pages that
// stream also walks the page tables: the 2 MiB-aligned part of [p, p+bytes)
// is advised to use huge pages (a 1B Q4_0 model decoded 5-7% faster). A hint
// that kernels or file systems without transparent huge pages ignore.
inline constexpr size_t kHugePage = size_t(2) << 20;
void advise_huge_pages(const void* p, size_t bytes);

class MappedFile {
 public:
  static Result<std::unique_ptr<MappedFile>> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // kIoError when the file is now shorter than the mapping (its pages are
  // gone: reading them raises SIGBUS) or was modified since it was mapped.
  Status check_unchanged() const;

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  size_t reserved_ = 0;  // bytes of address space reserved (file + padding)
  int fd_ = -1;
  int64_t mtime_sec_ = 0, mtime_nsec_ = 0;
  std::string path_;
};

}  // namespace loci::detail
