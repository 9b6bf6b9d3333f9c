#include "common/bench_support.h"

#include <cpuinfo.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <optional>
#include <sstream>

#include "loci/fp16.h"

namespace loci::bench {
namespace {

// Byte offsets, inside one block, of the fp16 fields that scale the block.
// Random bytes there could be inf/NaN or huge; everything else is any byte.
struct ScaleFields {
  size_t offsets[2];
  size_t count;
};

ScaleFields scale_fields(DType t) {
  switch (t) {
    case DType::Q4_0: return {{offsetof(BlockQ4_0, d), 0}, 1};
    case DType::Q4_1: return {{offsetof(BlockQ4_1, d), offsetof(BlockQ4_1, m)}, 2};
    case DType::Q5_0: return {{offsetof(BlockQ5_0, d), 0}, 1};
    case DType::Q5_1: return {{offsetof(BlockQ5_1, d), offsetof(BlockQ5_1, m)}, 2};
    case DType::Q8_0: return {{offsetof(BlockQ8_0, d), 0}, 1};
    case DType::Q2_K: return {{offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin)}, 2};
    case DType::Q3_K: return {{offsetof(BlockQ3_K, d), 0}, 1};
    case DType::Q4_K: return {{offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)}, 2};
    case DType::Q5_K: return {{offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin)}, 2};
    case DType::Q6_K: return {{offsetof(BlockQ6_K, d), 0}, 1};
    default: return {{0, 0}, 0};
  }
}

void fill_float_row(DType t, size_t k, void* row, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (size_t i = 0; i < k; ++i) {
    const float v = dist(rng);
    if (t == DType::F32) {
      static_cast<float*>(row)[i] = v;
    } else {
      static_cast<uint16_t*>(row)[i] = t == DType::F16 ? f32_to_fp16(v) : f32_to_bf16(v);
    }
  }
}

void fill_quant_row(DType t, const DTypeInfo& info, size_t k, uint8_t* row, std::mt19937_64& rng) {
  const size_t bytes = k / info.block_elems * info.block_bytes;
  for (size_t i = 0; i < bytes; i += 8) {
    const uint64_t r = rng();
    std::memcpy(row + i, &r, std::min<size_t>(8, bytes - i));
  }
  // Scales of the size real models have (a few thousandths), either sign.
  std::uniform_real_distribution<float> scale(0.001f, 0.01f);
  const ScaleFields f = scale_fields(t);
  for (uint8_t* b = row; b < row + bytes; b += info.block_bytes) {
    for (size_t s = 0; s < f.count; ++s) {
      const uint16_t h = f32_to_fp16((rng() & 1) ? scale(rng) : -scale(rng));
      std::memcpy(b + f.offsets[s], &h, sizeof h);
    }
  }
}

}  // namespace

std::vector<Isa> host_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kRef, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kNeon, Isa::kDotprod, Isa::kI8mm})
    if (isa_supported(isa)) out.push_back(isa);
  return out;
}

Status fill_random_weights(DType dtype, size_t rows, size_t k, void* data, size_t row_bytes, std::mt19937_64& rng) {
  const DTypeInfo* info = dtype_info(dtype);
  if (!info) return invalid_argument("bench: unsupported dtype");
  const std::optional<size_t> need = dtype_row_bytes(dtype, k);
  if (!need || row_bytes < *need) return invalid_argument("bench: rows of " + std::to_string(k) + " elements do not fit");
  auto* base = static_cast<uint8_t*>(data);
  for (size_t r = 0; r < rows; ++r) {
    uint8_t* row = base + r * row_bytes;
    if (info->quantized) {
      fill_quant_row(dtype, *info, k, row, rng);
    } else {
      fill_float_row(dtype, k, row, rng);
    }
  }
  return Status::ok();
}

AlignedBuffer allocate_aligned(size_t bytes) { return AlignedBuffer(static_cast<uint8_t*>(aligned_alloc_or_null(bytes))); }

uint8_t* Arena::get(size_t bytes) {
  if (bytes > bytes_) {
    buffer_.reset();  // free first: the old and new buffer need not coexist
    bytes_ = 0;
    buffer_ = allocate_aligned(bytes);
    if (!buffer_) return nullptr;
    bytes_ = bytes;
  }
  return buffer_.get();
}

Result<WeightPool> WeightPool::create(DType dtype, size_t n, size_t k, size_t pool_bytes, uint64_t seed,
                                      Arena* arena) {
  const std::optional<size_t> row = dtype_row_bytes(dtype, k);
  if (!row) return invalid_argument("bench: k=" + std::to_string(k) + " is not whole blocks of " + dtype_name(dtype));
  WeightPool p;
  p.matrix_bytes_ = *row * n;
  // Copies start on cache-line boundaries and keep the kernels' over-read padding.
  const size_t stride = (p.matrix_bytes_ + 2 * kKernelPadding - 1) / kKernelPadding * kKernelPadding;
  p.copies_ = std::max<size_t>(1, pool_bytes / stride);
  uint8_t* base = nullptr;
  if (arena) {
    base = arena->get(stride * p.copies_);
  } else {
    p.buffer_ = allocate_aligned(stride * p.copies_);
    base = p.buffer_.get();
  }
  if (!base) return out_of_memory("bench: cannot allocate " + std::to_string(stride * p.copies_) + " bytes of weights");
  std::mt19937_64 rng(seed);
  LOCI_RETURN_IF_ERROR(fill_random_weights(dtype, n, k, base, *row, rng));
  std::memset(base + p.matrix_bytes_, 0, stride - p.matrix_bytes_);
  for (size_t c = 1; c < p.copies_; ++c) std::memcpy(base + c * stride, base, stride);
  for (size_t c = 0; c < p.copies_; ++c) {
    Result<TensorView> v = TensorView::contiguous(dtype, {int64_t(k), int64_t(n)}, base + c * stride);
    if (!v) return v.status();
    p.views_.push_back(*v);
  }
  return p;
}

size_t default_cold_pool_bytes() { return std::max<size_t>(size_t(1) << 30, 2 * host_info().llc_bytes); }

Result<MatmulCall> MatmulCall::create(DType dtype, size_t m, size_t n, size_t k, uint64_t seed) {
  LOCI_ASSIGN_OR_RETURN(const size_t ws, matmul_workspace_bytes(dtype, m, k));
  MatmulCall c;
  c.m_ = m;
  c.n_ = n;
  c.k_ = k;
  c.x_.resize(m * k);
  c.y_.assign(m * n, 0.0f);
  std::mt19937_64 rng(seed);
  LOCI_RETURN_IF_ERROR(fill_random_weights(DType::F32, m, k, c.x_.data(), k * sizeof(float), rng));
  c.workspace_bytes_ = ws;
  if (ws) {
    c.workspace_ = allocate_aligned(ws);
    if (!c.workspace_) return out_of_memory("bench: cannot allocate the matmul workspace");
  }
  return c;
}

Status MatmulCall::run(const TensorView& w, ThreadPool* pool) {
  MatmulArgs a;
  a.w = w;
  a.x = x_.data();
  a.x_stride = k_ * sizeof(float);
  a.m = m_;
  a.y = y_.data();
  a.y_stride = n_ * sizeof(float);
  a.workspace = workspace_.get();
  a.workspace_bytes = workspace_bytes_;
  return matmul(a, pool);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double thread_cpu_seconds() {
#if defined(CLOCK_THREAD_CPUTIME_ID)
  timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0) return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
#endif
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

namespace {

// The comma-separated items of csv (empty ones skipped), each turned into a T
// by parse(item, error), which returns nullopt after setting *error.
template <typename T, typename Parse>
std::vector<T> parse_csv(const std::string& csv, std::string* error, Parse parse) {
  std::vector<T> out;
  std::stringstream ss(csv);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const std::optional<T> v = parse(item, error);
    if (!v) return {};
    out.push_back(*v);
  }
  return out;
}

}  // namespace

std::vector<DType> parse_dtype_list(const std::string& csv, std::string* error) {
  return parse_csv<DType>(csv, error, [](const std::string& item, std::string* err) {
    const std::optional<DType> t = dtype_from_name(item);
    if (!t) *err = "unknown weight type '" + item + "'";
    return t;
  });
}

std::vector<size_t> parse_size_list(const std::string& csv, std::string* error) {
  return parse_csv<size_t>(csv, error, [](const std::string& item, std::string* err) -> std::optional<size_t> {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(item.c_str(), &end, 10);
    if (!end || *end != '\0' || v == 0) {
      *err = "not a positive number: '" + item + "'";
      return std::nullopt;
    }
    return size_t(v);
  });
}

HostInfo host_info() {
  HostInfo h;
  if (!cpuinfo_initialize()) return h;
  if (const cpuinfo_package* p = cpuinfo_get_package(0)) h.cpu_name = p->name;
  h.cores = cpuinfo_get_cores_count();
  const cpuinfo_cache* llc = nullptr;
  if (cpuinfo_get_l3_caches_count() > 0) {
    llc = cpuinfo_get_l3_cache(0);
  } else if (cpuinfo_get_l2_caches_count() > 0) {
    llc = cpuinfo_get_l2_cache(0);
  }
  if (llc) h.llc_bytes = llc->size;
  return h;
}

}  // namespace loci::bench
