// CPU probing and the once-only choice of a kernel per product and of an
// activation converter per activation dtype.
//
// Every candidate compiled into the binary is listed in the per-ISA .inc files
// (ukernels__<isa>.inc, converters__<isa>.inc). For each weight dtype (and each
// activation dtype) we pick the highest-level candidate that the CPU runs and
// the cap allows; the reference candidate is always there, so nothing is ever
// left without an implementation.
#include <cpuinfo.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "kernels/ukernel.h"
#include "loci/quant.h"

#if defined(LOCI_ARCH_arm) && defined(__linux__)
#include <sys/auxv.h>
#endif

#define LOCI_UKERNEL(W, ISA, GEMV, GEMM)                                                                            \
  void GEMV(size_t, size_t, size_t, const void*, size_t, const void*, size_t, float*, size_t);                      \
  void GEMM(size_t, size_t, size_t, const void*, size_t, const void*, size_t, float*, size_t);
#include "kernels/ref/ukernels__ref.inc"
#if defined(LOCI_ARCH_x86)
#include "kernels/x86/ukernels__avx2.inc"
#include "kernels/x86/ukernels__avx512.inc"
#include "kernels/x86/ukernels__avx512vnni.inc"
#elif defined(LOCI_ARCH_arm)
#include "kernels/arm/ukernels__neon.inc"
#include "kernels/arm/ukernels__dotprod.inc"
#include "kernels/arm/ukernels__i8mm.inc"
#endif
#undef LOCI_UKERNEL

#define LOCI_CONVERTER(ACT, ISA, FN) void FN(const float*, void*, size_t);
#if defined(LOCI_ARCH_x86)
#include "kernels/x86/converters__avx2.inc"
#include "kernels/x86/converters__avx512.inc"
#elif defined(LOCI_ARCH_arm)
#include "kernels/arm/converters__neon.inc"
#endif
#undef LOCI_CONVERTER

namespace loci {
namespace {

// The reference converters are activations.cpp's scalar rows behind the
// converter signature.
void convert_f16_ref(const float* x, void* y, size_t k) { convert_row_f32_to_f16(x, static_cast<uint16_t*>(y), k); }
void convert_bf16_ref(const float* x, void* y, size_t k) { convert_row_f32_to_bf16(x, static_cast<uint16_t*>(y), k); }
void quantize_q8_0_ref(const float* x, void* y, size_t k) { quantize_row_q8_0(x, static_cast<BlockQ8_0*>(y), k); }
void quantize_q8_1_ref(const float* x, void* y, size_t k) { quantize_row_q8_1(x, static_cast<BlockQ8_1*>(y), k); }
void quantize_q8_k_ref(const float* x, void* y, size_t k) { quantize_row_q8_k(x, static_cast<BlockQ8_K*>(y), k); }

#define LOCI_CONVERTER(ACT, ISA, FN) {DType::ACT, Isa::ISA, FN, #FN},
const ConverterCandidate kConverters[] = {
    {DType::F16, Isa::kRef, convert_f16_ref, "loci_quantize_f16__ref"},
    {DType::BF16, Isa::kRef, convert_bf16_ref, "loci_quantize_bf16__ref"},
    {DType::Q8_0, Isa::kRef, quantize_q8_0_ref, "loci_quantize_q8_0__ref"},
    {DType::Q8_1, Isa::kRef, quantize_q8_1_ref, "loci_quantize_q8_1__ref"},
    {DType::Q8_K, Isa::kRef, quantize_q8_k_ref, "loci_quantize_q8_k__ref"},
#if defined(LOCI_ARCH_x86)
#include "kernels/x86/converters__avx2.inc"
#include "kernels/x86/converters__avx512.inc"
#elif defined(LOCI_ARCH_arm)
#include "kernels/arm/converters__neon.inc"
#endif
};
#undef LOCI_CONVERTER

// The activation dtypes that are converted (F32 is used in place).
constexpr DType kActs[] = {DType::F16, DType::BF16, DType::Q8_0, DType::Q8_1, DType::Q8_K};
constexpr size_t kNumActs = sizeof(kActs) / sizeof(kActs[0]);

#define LOCI_UKERNEL(W, ISA, GEMV, GEMM) {DType::W, Isa::ISA, GEMV, GEMM, #GEMV, #GEMM},
const UkernelCandidate kCandidates[] = {
#include "kernels/ref/ukernels__ref.inc"
#if defined(LOCI_ARCH_x86)
#include "kernels/x86/ukernels__avx2.inc"
#include "kernels/x86/ukernels__avx512.inc"
#include "kernels/x86/ukernels__avx512vnni.inc"
#elif defined(LOCI_ARCH_arm)
#include "kernels/arm/ukernels__neon.inc"
#include "kernels/arm/ukernels__dotprod.inc"
#include "kernels/arm/ukernels__i8mm.inc"
#endif
};
#undef LOCI_UKERNEL

// The weight dtypes that have a matmul product.
constexpr DType kProducts[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1,
                               DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q2_K, DType::Q3_K,
                               DType::Q4_K, DType::Q5_K, DType::Q6_K};
constexpr size_t kNumProducts = sizeof(kProducts) / sizeof(kProducts[0]);

bool same_arch(Isa a, Isa b) { return (int32_t(a) >= 10) == (int32_t(b) >= 10); }

// The level the CPU supports, probed once.
Isa probe_host() {
  if (!cpuinfo_initialize()) return Isa::kRef;
#if defined(LOCI_ARCH_x86)
  if (!(cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3() && cpuinfo_has_x86_f16c())) return Isa::kRef;
  if (!(cpuinfo_has_x86_avx512f() && cpuinfo_has_x86_avx512bw() && cpuinfo_has_x86_avx512vl() &&
        cpuinfo_has_x86_avx512dq()))
    return Isa::kAvx2;
  return cpuinfo_has_x86_avx512vnni() ? Isa::kAvx512Vnni : Isa::kAvx512;
#elif defined(LOCI_ARCH_arm)
  if (!cpuinfo_has_arm_neon()) return Isa::kRef;
  if (!cpuinfo_has_arm_neon_dot()) return Isa::kNeon;
#if defined(__linux__)
  // Debian's cpuinfo predates its i8mm query; the kernel's hwcap says it.
  constexpr unsigned long kHwcap2I8mm = 1ul << 13;
  if (getauxval(AT_HWCAP2) & kHwcap2I8mm) return Isa::kI8mm;
#endif
  return Isa::kDotprod;
#else
  return Isa::kRef;
#endif
}

Isa cap_from_env(Isa host) {
  const char* s = std::getenv("LOCI_ISA");
  if (!s || !*s) return host;
  std::optional<Isa> isa = isa_from_name(s);
  return isa ? *isa : Isa::kRef;  // an unknown name caps at the safe choice
}

struct Selection {
  std::mutex mu;
  Isa host = Isa::kRef;
  std::atomic<Isa> cap{Isa::kRef};
  std::atomic<const UkernelCandidate*> chosen[kNumProducts] = {};
  std::atomic<const ConverterCandidate*> converters[kNumActs] = {};
};

bool allowed(Isa isa, Isa host, Isa cap) {
  return isa == Isa::kRef || (same_arch(isa, host) && isa <= host && same_arch(isa, cap) && isa <= cap);
}

// The highest-level candidate for `key` that host and cap allow (ref always is).
template <typename Candidate, size_t N, typename Key>
const Candidate* best_of(const Candidate (&table)[N], Key Candidate::*field, Key key, Isa host, Isa cap) {
  const Candidate* best = nullptr;
  for (const Candidate& c : table)
    if (c.*field == key && allowed(c.isa, host, cap) && (!best || c.isa > best->isa)) best = &c;
  return best;
}

void select_all(Selection& s) {
  const Isa cap = s.cap.load();
  for (size_t p = 0; p < kNumProducts; ++p)
    s.chosen[p].store(best_of(kCandidates, &UkernelCandidate::weight, kProducts[p], s.host, cap));
  for (size_t a = 0; a < kNumActs; ++a)
    s.converters[a].store(best_of(kConverters, &ConverterCandidate::act, kActs[a], s.host, cap));
}

Selection& selection() {
  static Selection* s = [] {
    static Selection sel;
    sel.host = probe_host();
    sel.cap = cap_from_env(sel.host);
    select_all(sel);
    return &sel;
  }();
  return *s;
}

// A kernel's name ends in "__<isa>"; a candidate may borrow a lower level's
// gemv (i8mm reuses dotprod's), so the name, not the candidate, says which ran.
Isa isa_of_kernel(const char* name) {
  std::string_view n(name);
  const size_t at = n.rfind("__");
  if (at == std::string_view::npos) return Isa::kRef;
  return isa_from_name(n.substr(at + 2)).value_or(Isa::kRef);
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kRef: return "ref";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx512Vnni: return "avx512vnni";
    case Isa::kNeon: return "neon";
    case Isa::kDotprod: return "dotprod";
    case Isa::kI8mm: return "i8mm";
  }
  return "unknown";
}

std::optional<Isa> isa_from_name(std::string_view s) {
  for (Isa isa : {Isa::kRef, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kNeon, Isa::kDotprod, Isa::kI8mm})
    if (s == isa_name(isa)) return isa;
  return std::nullopt;
}

Isa host_isa() { return selection().host; }

bool isa_supported(Isa isa) {
  const Isa host = host_isa();
  return isa == Isa::kRef || (same_arch(isa, host) && isa <= host);
}

void set_isa_cap(Isa cap) {
  Selection& s = selection();
  std::lock_guard<std::mutex> lock(s.mu);
  s.cap = cap;
  select_all(s);
}

Isa isa_cap() { return selection().cap.load(); }

const UkernelCandidate* all_ukernel_candidates(size_t* count) {
  *count = sizeof(kCandidates) / sizeof(kCandidates[0]);
  return kCandidates;
}

const UkernelCandidate* selected_ukernel(DType weight) {
  Selection& s = selection();
  for (size_t p = 0; p < kNumProducts; ++p)
    if (kProducts[p] == weight) return s.chosen[p].load();
  return nullptr;
}

const UkernelCandidate* reference_ukernel(DType weight) {
  for (const UkernelCandidate& c : kCandidates)
    if (c.weight == weight && c.isa == Isa::kRef) return &c;
  return nullptr;
}

const ConverterCandidate* all_converter_candidates(size_t* count) {
  *count = sizeof(kConverters) / sizeof(kConverters[0]);
  return kConverters;
}

const ConverterCandidate* selected_converter(DType act) {
  Selection& s = selection();
  for (size_t a = 0; a < kNumActs; ++a)
    if (kActs[a] == act) return s.converters[a].load();
  return nullptr;
}

const ConverterCandidate* reference_converter(DType act) {
  for (const ConverterCandidate& c : kConverters)
    if (c.act == act && c.isa == Isa::kRef) return &c;
  return nullptr;
}

Result<MatmulKernelInfo> matmul_kernel_info(DType weight) {
  const UkernelCandidate* c = selected_ukernel(weight);
  if (!c) return unsupported(std::string("matmul: no kernel for weight dtype ") + dtype_name(weight));
  const DType act = matmul_activation_dtype(weight);
  const ConverterCandidate* conv = selected_converter(act);
  return MatmulKernelInfo{weight, act, isa_of_kernel(c->gemv_name), c->gemv_name, isa_of_kernel(c->gemm_name),
                          c->gemm_name, conv ? conv->name : nullptr};
}

std::vector<MatmulKernelInfo> matmul_kernel_report() {
  std::vector<MatmulKernelInfo> out;
  for (DType w : kProducts) {
    Result<MatmulKernelInfo> info = matmul_kernel_info(w);
    if (info) out.push_back(*info);
  }
  return out;
}

}  // namespace loci
