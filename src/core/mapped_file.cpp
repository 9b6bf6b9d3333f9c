#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "loci/tensor.h"

namespace loci::detail {
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string errno_text() { return std::strerror(errno); }

// `bytes` of inaccessible address space starting on a kHugePage boundary, so
// a file mapped there can use huge pages (see advise_huge_pages).
void* reserve_aligned(size_t bytes) {
  void* raw = ::mmap(nullptr, bytes + kHugePage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return MAP_FAILED;
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) & ~uintptr_t(kHugePage - 1);
  if (aligned > start) ::munmap(raw, aligned - start);
  ::munmap(reinterpret_cast<void*>(aligned + bytes), start + kHugePage - aligned);
  return reinterpret_cast<void*>(aligned);
}

}  // namespace

void advise_huge_pages(const void* p, size_t bytes) {
#ifdef MADV_HUGEPAGE
  const uintptr_t start = (reinterpret_cast<uintptr_t>(p) + kHugePage - 1) & ~uintptr_t(kHugePage - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~uintptr_t(kHugePage - 1);
  if (end > start) (void)::madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
#else
  (void)p, (void)bytes;
#endif
}

Result<std::unique_ptr<MappedFile>> MappedFile::open(const std::string& path) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return io_error("cannot open '" + path + "': " + errno_text());
  struct stat st;
  if (::fstat(f.fd, &st) != 0) return io_error("cannot stat '" + path + "': " + errno_text());
  if (!S_ISREG(st.st_mode)) return io_error("'" + path + "' is not a regular file");
  const uint64_t size = uint64_t(st.st_size);
  const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));
  // Reserve file + padding rounded up to pages, then map the file over the
  // start: the bytes after the end of file read as zeros instead of faulting.
  if (size > SIZE_MAX - kKernelPadding - page - kHugePage) return io_error("'" + path + "' is too large to map");
  const size_t reserved = size_t((size + kKernelPadding + page - 1) / page * page);
  void* base = reserve_aligned(reserved);
  if (base == MAP_FAILED) return io_error("cannot reserve " + std::to_string(reserved) + " bytes to map '" + path +
                                          "': " + errno_text());
  if (size > 0 &&
      ::mmap(base, size_t(size), PROT_READ, MAP_PRIVATE | MAP_FIXED, f.fd, 0) == MAP_FAILED) {
    const std::string why = errno_text();
    ::munmap(base, reserved);
    return io_error("cannot map '" + path + "': " + why);
  }
  advise_huge_pages(base, size_t(size));
  std::unique_ptr<MappedFile> m(new (std::nothrow) MappedFile());
  if (!m) {
    ::munmap(base, reserved);
    return out_of_memory("mapping '" + path + "'");
  }
  m->data_ = static_cast<const uint8_t*>(base);
  m->size_ = size;
  m->reserved_ = reserved;
  m->mtime_sec_ = int64_t(st.st_mtim.tv_sec);
  m->mtime_nsec_ = int64_t(st.st_mtim.tv_nsec);
  m->path_ = path;
  m->fd_ = f.fd;
  f.fd = -1;
  return m;
}

Status MappedFile::check_unchanged() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return io_error("cannot stat '" + path_ + "': " + errno_text());
  if (uint64_t(st.st_size) < size_)
    return io_error("model file '" + path_ + "' shrank from " + std::to_string(size_) + " to " +
                    std::to_string(uint64_t(st.st_size)) + " bytes after it was loaded");
  if (int64_t(st.st_mtim.tv_sec) != mtime_sec_ || int64_t(st.st_mtim.tv_nsec) != mtime_nsec_)
    return io_error("model file '" + path_ + "' was modified after it was loaded (replace it by rename instead)");
  return Status::ok();
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), reserved_);
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace loci::detail
