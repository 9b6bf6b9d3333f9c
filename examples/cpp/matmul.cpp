// Quantize a weight matrix to Q4_0 and multiply it with float activations on
// the best kernels this CPU runs, using two threads.
#include <cmath>
#include <cstdio>
#include <vector>

#include "loci/matmul.h"
#include "loci/quant.h"
#include "loci/threadpool.h"

int main() {
  const int64_t m = 4, n = 256, k = 1024;
  std::vector<float> wf(size_t(n * k)), x(size_t(m * k)), y(size_t(m * n));
  for (size_t i = 0; i < wf.size(); ++i) wf[i] = std::sin(0.01f * float(i));
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.02f * float(i));

  auto w = loci::Tensor::create(loci::DType::Q4_0, {k, n});  // n rows of k
  if (!w) return std::fprintf(stderr, "%s\n", w.status().to_string().c_str()), 1;
  if (auto s = loci::quantize_row(loci::DType::Q4_0, wf.data(), w->data(), size_t(n * k)); !s)
    return std::fprintf(stderr, "%s\n", s.to_string().c_str()), 1;

  auto pool = loci::ThreadPool::create(2);
  auto ws_bytes = loci::matmul_workspace_bytes(loci::DType::Q4_0, size_t(m), size_t(k));
  if (!pool || !ws_bytes) return 1;
  std::vector<unsigned char> workspace(*ws_bytes);

  loci::MatmulArgs args{w->view(), x.data(), size_t(k) * sizeof(float), size_t(m),
                        y.data(),  size_t(n) * sizeof(float), workspace.data(), workspace.size()};
  if (auto s = loci::matmul(args, pool->get()); !s) return std::fprintf(stderr, "%s\n", s.to_string().c_str()), 1;

  auto info = loci::matmul_kernel_info(loci::DType::Q4_0);
  std::printf("host ISA %s, q4_0 kernels: %s / %s\n", loci::isa_name(loci::host_isa()), info->gemv_name,
              info->gemm_name);
  // Compare with the float product to show the quantization error.
  double exact = 0;
  for (int64_t p = 0; p < k; ++p) exact += double(x[size_t(p)]) * wf[size_t(p)];
  std::printf("y[0][0] = %.5f (float weights: %.5f)\n", y[0], exact);
  double err = 0, norm = 0;
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < n; ++c) {
      double e = 0;
      for (int64_t p = 0; p < k; ++p) e += double(x[size_t(r * k + p)]) * wf[size_t(c * k + p)];
      err += (y[size_t(r * n + c)] - e) * (y[size_t(r * n + c)] - e);
      norm += e * e;
    }
  const double rel = std::sqrt(err / norm);
  std::printf("relative error of all %lld outputs: %.4f\n", static_cast<long long>(m * n), rel);
  // Q4_0 keeps about 3.5 bits a weight: a few percent is expected, more is a bug.
  if (rel > 0.05) return 1;
  return 0;
}
