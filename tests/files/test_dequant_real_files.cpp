// Dequantizes tensors that llama.cpp's quantizer wrote and compares them with
// the F32 tensors they were made from; then quantizes those F32 tensors with
// our own quantizers and compares the error with llama.cpp's.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "loci/quant.h"
#include "support/gguf_reader.h"
#include "support/test_support.h"

using namespace loci;
using loci::test::GgufFile;
using loci::test::GgufTensor;

namespace {

// Loads shared/models/<name>; a missing file fails the test, never skips it.
GgufFile load_model(const std::string& name) {
  const std::string path = test::shared_dir() + "/models/" + name;
  if (!test::file_exists(path))
    FAIL("shared model file missing: " << path << " (set LOCI_SHARED_DIR to the folder holding models/)");
  Result<GgufFile> f = GgufFile::load(path);
  if (!f.is_ok()) FAIL("cannot read " << path << ": " << f.status().to_string());
  return std::move(f).value();
}

// Relative RMS error of dequantized tensors against their F32 source, per
// weight type, as llama.cpp's files have it (measured on the files below):
//   f32 0 (copied), f16 2.1e-4, bf16 1.7e-3, q8_0 5.3e-3..5.5e-3,
//   q4_0 0.085..0.086, q4_k 0.0713, q6_k 0.0178.
// Bounds are the type's known error with ~20% margin.
double error_bound(DType t) {
  switch (t) {
    case DType::F32: return 0.0;
    case DType::F16: return 2.5e-4;
    case DType::BF16: return 2.0e-3;
    case DType::Q8_0: return 6.5e-3;
    case DType::Q4_0: return 0.10;
    case DType::Q4_K: return 0.085;
    case DType::Q6_K: return 0.021;
    default: return -1.0;  // a type these files should not hold
  }
}

// Types whose quantizers are specified to round exactly as llama.cpp's
// reference does (quant.h): our bytes must equal the file's.
bool must_match_bytes(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::Q8_0 || t == DType::Q4_0;
}

struct Sums {
  double theirs = 0, ours = 0, ref = 0;  // squared errors and squared source
  size_t tensors = 0, bytes = 0, bytes_equal = 0;
};

// Accumulates one quantized tensor against its F32 source.
void compare_tensor(const GgufTensor& q, const GgufTensor& src, Sums* s, double* tensor_err) {
  const size_t row = size_t(q.row_length()), rows = size_t(q.rows());
  const size_t row_bytes = q.bytes / rows;
  std::vector<float> theirs(row), ours(row);
  std::vector<uint8_t> requant(row_bytes);
  double err = 0, ref = 0;
  for (size_t r = 0; r < rows; ++r) {
    const auto* x = reinterpret_cast<const float*>(src.data + r * row * sizeof(float));
    const uint8_t* qrow = q.data + r * row_bytes;
    REQUIRE(dequantize_row(q.dtype, qrow, theirs.data(), row).is_ok());
    REQUIRE(quantize_row(q.dtype, x, requant.data(), row).is_ok());
    REQUIRE(dequantize_row(q.dtype, requant.data(), ours.data(), row).is_ok());
    for (size_t i = 0; i < row; ++i) {
      err += double(theirs[i] - x[i]) * double(theirs[i] - x[i]);
      s->ours += double(ours[i] - x[i]) * double(ours[i] - x[i]);
      ref += double(x[i]) * double(x[i]);
    }
    for (size_t i = 0; i < row_bytes; ++i) s->bytes_equal += requant[i] == qrow[i];
  }
  s->theirs += err;
  s->ref += ref;
  s->bytes += rows * row_bytes;
  ++s->tensors;
  *tensor_err = ref > 0 ? std::sqrt(err / ref) : std::sqrt(err);
}

void check_file_against_source(const std::string& quant_name, const std::string& source_name) {
  const GgufFile q = load_model(quant_name);
  const GgufFile src = load_model(source_name);
  std::map<DType, Sums> by_type;
  size_t compared = 0;
  for (const GgufTensor& t : q.tensors()) {
    INFO(quant_name << ": tensor " << t.name << " (" << dtype_name(t.dtype) << ")");
    const GgufTensor* s = src.tensor(t.name);
    REQUIRE(s != nullptr);
    REQUIRE(s->dtype == DType::F32);
    REQUIRE(s->elements() == t.elements());
    REQUIRE(s->row_length() == t.row_length());
    const double bound = error_bound(t.dtype);
    REQUIRE(bound >= 0.0);
    double err = 0;
    compare_tensor(t, *s, &by_type[t.dtype], &err);
    INFO("relative RMS error " << err << ", bound " << bound);
    CHECK(err <= bound);
    ++compared;
  }
  // Every tensor of the quantized file was compared, and none of the source's is missing.
  CHECK(compared == q.tensors().size());
  CHECK(q.tensors().size() == src.tensors().size());
  CHECK(compared > 0);

  for (const auto& [type, s] : by_type) {
    const double theirs = s.ref > 0 ? std::sqrt(s.theirs / s.ref) : 0.0;
    const double ours = s.ref > 0 ? std::sqrt(s.ours / s.ref) : 0.0;
    const double equal = double(s.bytes_equal) / double(s.bytes);
    INFO(quant_name << " " << dtype_name(type) << " x" << s.tensors << ": llama.cpp error " << theirs
                    << ", ours " << ours << ", bytes equal " << equal);
    CHECK(theirs <= error_bound(type));
    CHECK(ours <= 1.5 * theirs);
    if (must_match_bytes(type)) CHECK(s.bytes_equal == s.bytes);
    // Printed so the numbers can be quoted without a debugger.
    if (type != DType::F32)
      WARN("measured " << quant_name << " " << dtype_name(type) << " x" << s.tensors << ": llama.cpp " << theirs
                       << ", ours " << ours << ", bytes equal " << equal);
  }
}

}  // namespace

TEST_CASE("stories260K: llama.cpp's Q8_0 and Q4_0 files dequantize to their F32 source", "[files][quant]") {
  check_file_against_source("stories260K-q8_0.gguf", "stories260K.gguf");
  check_file_against_source("stories260K-q4_0.gguf", "stories260K.gguf");
}

TEST_CASE("synth-kq: every pure type and the Q4_K_M mix dequantize to their F32 source", "[files][quant]") {
  for (const char* name : {"synth-kq-pure-f16.gguf", "synth-kq-pure-bf16.gguf", "synth-kq-pure-q4_0.gguf",
                           "synth-kq-pure-q8_0.gguf", "synth-kq-pure-q4_k.gguf", "synth-kq-pure-q6_k.gguf",
                           "synth-kq-q4_k_m.gguf"}) {
    check_file_against_source(name, "synth-kq-f32.gguf");
  }
}

TEST_CASE("synth-qwen2: the Q8_0 file dequantizes to its F32 source", "[files][quant]") {
  check_file_against_source("synth-qwen2-q8_0.gguf", "synth-qwen2-f32.gguf");
}
