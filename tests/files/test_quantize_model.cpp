// The model quantizer (loci/quantize.h) against llama.cpp's own files: the
// same dtype for every tensor, the same bytes for the legacy quants, metadata
// copied exactly, bounded error, runnable output, and clean failures.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "loci/gguf.h"
#include "loci/gguf_writer.h"
#include "loci/model.h"
#include "loci/quant.h"
#include "loci/quantize.h"
#include "support/gguf_writer.h"
#include "support/test_support.h"

using namespace loci;

namespace {

std::string model_path(const char* file) { return test::shared_dir() + "/models/" + file; }

std::shared_ptr<const GgufFile> open_file(const std::string& path) {
  auto f = GgufFile::open(path);
  if (!f.is_ok()) FAIL(f.status().to_string());
  return *f;
}

QuantizeReport quantize_to(const std::string& in, const std::string& out, FileType type, bool pure = false) {
  QuantizeOptions o;
  o.type = type;
  o.pure = pure;
  o.n_threads = 2;
  auto r = quantize_model(in, out, o);
  if (!r.is_ok()) FAIL(r.status().to_string());
  return *r;
}

std::vector<float> dequantized(const GgufTensor& t) {
  const size_t ne0 = size_t(t.ne[0]);
  const size_t rows = size_t(t.view.rows());
  std::vector<float> out(ne0 * rows);
  for (size_t r = 0; r < rows; ++r) {
    const auto* row = static_cast<const uint8_t*>(t.view.data) + r * t.view.row_bytes();
    REQUIRE(dequantize_row(t.dtype, row, out.data() + r * ne0, ne0).is_ok());
  }
  return out;
}

// RMS of (got - want) relative to the RMS of want.
double relative_rms(const std::vector<float>& got, const std::vector<float>& want) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    err += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    ref += double(want[i]) * want[i];
  }
  return ref > 0 ? std::sqrt(err / ref) : std::sqrt(err);
}

// Bounds on each tensor's relative RMS error, per stored dtype. Measured
// (largest over every tensor of stories260K, trained weights, and
// synth-kq-f32, N(0, 0.02), in every file type), then about 1.3x for margin:
//   f16  0.00021 -> 0.0003   bf16 0.0020 -> 0.003   q8_0 0.0062 -> 0.008
//   q6_k 0.0173  -> 0.023    q5_k 0.035  -> 0.045   q5_1 0.042  -> 0.055
//   q5_0 0.050   -> 0.065    q4_k 0.070  -> 0.09    q4_1 0.088  -> 0.115
//   q4_0 0.096   -> 0.125    q3_k 0.144  -> 0.19    q2_k 0.263  -> 0.34
// Each measurement sits near the rounding error of its step size (the block's
// spread over 2^bits, over sqrt(12)), so a wrong scale, a lost bit or a bad
// rounding rule lands well outside its bound.
double error_bound(DType t) {
  switch (t) {
    case DType::F32: return 0.0;
    case DType::F16: return 0.0003;
    case DType::BF16: return 0.003;
    case DType::Q8_0: return 0.008;
    case DType::Q6_K: return 0.023;
    case DType::Q5_K: return 0.045;
    case DType::Q5_1: return 0.055;
    case DType::Q5_0: return 0.065;
    case DType::Q4_K: return 0.09;
    case DType::Q4_1: return 0.115;
    case DType::Q4_0: return 0.125;
    case DType::Q3_K: return 0.19;
    case DType::Q2_K: return 0.34;
    default: return -1.0;
  }
}

const std::vector<int32_t> kTokens = {1, 403, 407, 261, 378};

std::vector<std::string_view> names_of(const GgufFile& f) {
  std::vector<std::string_view> out;
  for (const GgufTensor& t : f.tensors()) out.push_back(t.name);
  return out;
}

// --- choose_tensor_types on a described model --------------------------------

struct Described {
  std::vector<std::string> names;  // owns what the shapes point at
  std::vector<TensorShape> shapes;
  void add(std::string name, std::vector<int64_t> ne) {
    names.push_back(std::move(name));
    TensorShape s;
    s.ndim = int(ne.size());
    for (size_t d = 0; d < ne.size(); ++d) s.ne[d] = ne[d];
    shapes.push_back(s);
  }
  void finish() {
    for (size_t i = 0; i < names.size(); ++i) shapes[i].name = names[i];
  }
};

// A Llama-3-8B-like layout: 16 layers, 32 heads sharing 8 KV heads (GQA 4).
Described llama_like(int n_layer, bool with_output = true) {
  Described d;
  d.add("token_embd.weight", {4096, 32000});
  d.add("output_norm.weight", {4096});
  if (with_output) d.add("output.weight", {4096, 32000});
  for (int i = 0; i < n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    d.add(b + "attn_norm.weight", {4096});
    d.add(b + "attn_q.weight", {4096, 4096});
    d.add(b + "attn_k.weight", {4096, 1024});
    d.add(b + "attn_v.weight", {4096, 1024});
    d.add(b + "attn_output.weight", {4096, 4096});
    d.add(b + "ffn_norm.weight", {4096});
    d.add(b + "ffn_gate.weight", {4096, 14336});
    d.add(b + "ffn_up.weight", {4096, 14336});
    d.add(b + "ffn_down.weight", {14336, 4096});
  }
  d.finish();
  return d;
}

ModelLayout layout_of(uint32_t n_layer, uint32_t n_head_kv, bool tied = false, uint32_t n_expert = 0) {
  ModelLayout l;
  l.arch = "llama";
  l.n_layer = n_layer;
  l.n_head = 32;
  l.n_head_kv = n_head_kv;
  l.n_expert = n_expert;
  l.tied_embeddings = tied;
  return l;
}

std::map<std::string, DType> choose(FileType ft, const ModelLayout& l, const Described& d) {
  auto types = choose_tensor_types(ft, l, d.shapes);
  if (!types.is_ok()) FAIL(types.status().to_string());
  REQUIRE(types->size() == d.shapes.size());
  std::map<std::string, DType> out;
  for (size_t i = 0; i < d.names.size(); ++i) out[d.names[i]] = (*types)[i];
  return out;
}

// The layers whose `tensor` got `t`.
std::vector<int> layers_with(const std::map<std::string, DType>& types, int n_layer, const std::string& tensor,
                             DType t) {
  std::vector<int> out;
  for (int i = 0; i < n_layer; ++i)
    if (types.at("blk." + std::to_string(i) + "." + tensor + ".weight") == t) out.push_back(i);
  return out;
}

std::vector<int> all_layers_but(int n_layer, std::vector<int> except) {
  std::vector<int> out;
  for (int i = 0; i < n_layer; ++i)
    if (std::find(except.begin(), except.end(), i) == except.end()) out.push_back(i);
  return out;
}

}  // namespace

// --- names ------------------------------------------------------------------------

TEST_CASE("quantize: file type names", "[quantize]") {
  CHECK(file_type_from_name("Q4_K_M") == FileType::kQ4_K_M);
  CHECK(file_type_from_name("q8_0") == FileType::kQ8_0);
  CHECK(file_type_from_name("q3_k") == FileType::kQ3_K_M);
  CHECK(file_type_from_name("q4_k") == FileType::kQ4_K_M);
  CHECK(file_type_from_name("Q5_K") == FileType::kQ5_K_M);
  CHECK(file_type_from_name("bf16") == FileType::kBF16);
  CHECK_FALSE(file_type_from_name("q4_2").has_value());
  CHECK_FALSE(file_type_from_name("").has_value());
  CHECK_FALSE(file_type_from_name("q4_k_m ").has_value());
  const std::vector<FileType> all = file_types();
  CHECK(all.size() == 17);
  CHECK(std::is_sorted(all.begin(), all.end()));
  for (FileType t : all) CHECK(file_type_from_name(file_type_name(t)) == t);
  CHECK(std::string(file_type_name(FileType(99))) == "unknown");
}

// --- the rules -------------------------------------------------------------------

TEST_CASE("quantize: choose_tensor_types follows llama.cpp's mixes on a 16-layer GQA model", "[quantize]") {
  constexpr int n = 16;
  const Described d = llama_like(n);
  const ModelLayout l = layout_of(n, 8);  // GQA 4
  // llama.cpp's "more bits" layers for 16 layers: the first 16/8 = 2, the last
  // 2 (from 7*16/8 = 14), and every third from 2 on where (i - 2) % 3 == 2.
  const std::vector<int> more_bits = {0, 1, 4, 7, 10, 13, 14, 15};

  SECTION("q4_k_m") {
    auto t = choose(FileType::kQ4_K_M, l, d);
    CHECK(layers_with(t, n, "attn_v", DType::Q6_K) == more_bits);
    CHECK(layers_with(t, n, "attn_v", DType::Q4_K) == all_layers_but(n, more_bits));
    CHECK(layers_with(t, n, "ffn_down", DType::Q6_K) == more_bits);
    CHECK(layers_with(t, n, "ffn_down", DType::Q4_K) == all_layers_but(n, more_bits));
    for (const char* m : {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"})
      CHECK(layers_with(t, n, m, DType::Q4_K).size() == n);
    CHECK(t["output.weight"] == DType::Q6_K);
    CHECK(t["token_embd.weight"] == DType::Q4_K);
    CHECK(t["output_norm.weight"] == DType::F32);
    CHECK(layers_with(t, n, "attn_norm", DType::F32).size() == n);
  }
  SECTION("q5_k_m") {
    auto t = choose(FileType::kQ5_K_M, l, d);
    CHECK(layers_with(t, n, "attn_v", DType::Q6_K) == more_bits);
    CHECK(layers_with(t, n, "ffn_down", DType::Q6_K) == more_bits);
    CHECK(layers_with(t, n, "ffn_down", DType::Q5_K) == all_layers_but(n, more_bits));
    CHECK(layers_with(t, n, "attn_output", DType::Q5_K).size() == n);
    CHECK(t["output.weight"] == DType::Q6_K);
    CHECK(t["token_embd.weight"] == DType::Q5_K);
  }
  SECTION("q3_k_m") {
    auto t = choose(FileType::kQ3_K_M, l, d);
    // attn_v: the first two Q5_K, the rest Q4_K; ffn_down: the first 16/16 = 1 Q5_K, the rest Q4_K.
    CHECK(layers_with(t, n, "attn_v", DType::Q5_K) == std::vector<int>{0, 1});
    CHECK(layers_with(t, n, "attn_v", DType::Q4_K) == all_layers_but(n, {0, 1}));
    CHECK(layers_with(t, n, "ffn_down", DType::Q5_K) == std::vector<int>{0});
    CHECK(layers_with(t, n, "ffn_down", DType::Q4_K) == all_layers_but(n, {0}));
    CHECK(layers_with(t, n, "attn_output", DType::Q4_K).size() == n);
    CHECK(layers_with(t, n, "ffn_up", DType::Q3_K).size() == n);
    CHECK(layers_with(t, n, "attn_q", DType::Q3_K).size() == n);
    CHECK(t["output.weight"] == DType::Q6_K);
    CHECK(t["token_embd.weight"] == DType::Q3_K);
  }
  SECTION("q3_k_l and q3_k_s") {
    auto t = choose(FileType::kQ3_K_L, l, d);
    for (const char* m : {"attn_v", "ffn_down", "attn_output"}) CHECK(layers_with(t, n, m, DType::Q5_K).size() == n);
    CHECK(layers_with(t, n, "ffn_gate", DType::Q3_K).size() == n);
    auto s = choose(FileType::kQ3_K_S, l, d);
    for (const char* m : {"attn_v", "ffn_down", "attn_output", "attn_q"})
      CHECK(layers_with(s, n, m, DType::Q3_K).size() == n);
    CHECK(s["output.weight"] == DType::Q6_K);
  }
  SECTION("q2_k") {
    auto t = choose(FileType::kQ2_K, l, d);
    // GQA >= 4: attn_v Q4_K everywhere (Q3_K without GQA, below).
    CHECK(layers_with(t, n, "attn_v", DType::Q4_K).size() == n);
    CHECK(layers_with(t, n, "ffn_down", DType::Q3_K).size() == n);
    CHECK(layers_with(t, n, "attn_output", DType::Q3_K).size() == n);
    CHECK(layers_with(t, n, "ffn_up", DType::Q2_K).size() == n);
    CHECK(layers_with(t, n, "attn_k", DType::Q2_K).size() == n);
    CHECK(t["output.weight"] == DType::Q6_K);
    CHECK(t["token_embd.weight"] == DType::Q2_K);
    auto mha = choose(FileType::kQ2_K, layout_of(n, 32), d);
    CHECK(layers_with(mha, n, "attn_v", DType::Q3_K).size() == n);
  }
  SECTION("q4_k_s and q5_k_s") {
    auto t = choose(FileType::kQ4_K_S, l, d);
    CHECK(layers_with(t, n, "attn_v", DType::Q5_K) == std::vector<int>{0, 1, 2, 3});  // the first four
    CHECK(layers_with(t, n, "ffn_down", DType::Q5_K) == std::vector<int>{0, 1});      // the first 16/8
    CHECK(layers_with(t, n, "ffn_down", DType::Q4_K) == all_layers_but(n, {0, 1}));
    auto s = choose(FileType::kQ5_K_S, l, d);
    for (const char* m : {"attn_v", "ffn_down", "attn_output"}) CHECK(layers_with(s, n, m, DType::Q5_K).size() == n);
    CHECK(s["output.weight"] == DType::Q6_K);
  }
  SECTION("legacy and float types") {
    auto q4 = choose(FileType::kQ4_0, l, d);
    CHECK(q4["output.weight"] == DType::Q6_K);  // llama.cpp widens the output for every quantized type but Q8_0
    CHECK(layers_with(q4, n, "attn_v", DType::Q4_0).size() == n);
    CHECK(layers_with(q4, n, "ffn_down", DType::Q4_0).size() == n);
    auto q8 = choose(FileType::kQ8_0, l, d);
    CHECK(q8["output.weight"] == DType::Q8_0);
    CHECK(q8["token_embd.weight"] == DType::Q8_0);
    auto f16 = choose(FileType::kF16, l, d);
    CHECK(f16["output.weight"] == DType::F16);
    CHECK(f16["output_norm.weight"] == DType::F32);
    CHECK(layers_with(f16, n, "ffn_down", DType::F16).size() == n);
  }
}

TEST_CASE("quantize: tied embeddings, file order, experts and row fallbacks", "[quantize]") {
  SECTION("a tied token_embd is the output matrix and gets its type") {
    const Described d = llama_like(4, false);
    CHECK(choose(FileType::kQ4_K_M, layout_of(4, 8, true), d)["token_embd.weight"] == DType::Q6_K);
    CHECK(choose(FileType::kQ8_0, layout_of(4, 8, true), d)["token_embd.weight"] == DType::Q8_0);
    CHECK(choose(FileType::kQ4_K_M, layout_of(4, 8, false), d)["token_embd.weight"] == DType::Q4_K);
  }
  SECTION("the layer counters follow block order, not file order") {
    Described d = llama_like(16);
    std::vector<size_t> idx(d.names.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = idx.size() - 1 - i;
    Described rev;
    for (size_t i : idx) rev.add(d.names[i], std::vector<int64_t>(d.shapes[i].ne, d.shapes[i].ne + d.shapes[i].ndim));
    rev.finish();
    CHECK(choose(FileType::kQ4_K_M, layout_of(16, 8), rev) == choose(FileType::kQ4_K_M, layout_of(16, 8), d));
  }
  SECTION("8 experts: attn_v and attn_k in Q8_0, attn_output Q5_K, FFN layers from the name") {
    Described d;
    d.add("output.weight", {4096, 32000});
    for (int i = 0; i < 8; ++i) {
      const std::string b = "blk." + std::to_string(i) + ".";
      d.add(b + "attn_v.weight", {4096, 1024});
      d.add(b + "attn_k.weight", {4096, 1024});
      d.add(b + "attn_output.weight", {4096, 4096});
      d.add(b + "ffn_gate_inp.weight", {4096, 8});
      d.add(b + "ffn_down_exps.weight", {14336, 4096, 8});
    }
    d.finish();
    auto t = choose(FileType::kQ4_K_M, layout_of(8, 8, false, 8), d);
    CHECK(layers_with(t, 8, "attn_v", DType::Q8_0).size() == 8);
    CHECK(layers_with(t, 8, "attn_k", DType::Q8_0).size() == 8);
    CHECK(layers_with(t, 8, "attn_output", DType::Q5_K).size() == 8);
    CHECK(layers_with(t, 8, "ffn_gate_inp", DType::F32).size() == 8);  // the router is never quantized
    // use_more_bits(i, 8): 0 (first 8/8), 7 (last), and 3, 6 ((i - 1) % 3 == 2).
    CHECK(layers_with(t, 8, "ffn_down_exps", DType::Q6_K) == std::vector<int>{0, 3, 6, 7});
    // A block number outside the layer count is an error, not a guess.
    Described bad;
    bad.add("blk.9.ffn_down_exps.weight", {256, 256, 8});
    bad.finish();
    CHECK(choose_tensor_types(FileType::kQ4_K_M, layout_of(8, 8, false, 8), bad.shapes).status().code() ==
          StatusCode::kInvalidArgument);
  }
  SECTION("rows a block does not divide fall back as llama.cpp does") {
    Described d;
    d.add("blk.0.attn_q.weight", {96, 64});    // 32 divides, 256 does not
    d.add("blk.0.attn_k.weight", {100, 64});   // nothing divides
    d.add("output.weight", {96, 512});
    d.finish();
    const ModelLayout l = layout_of(1, 32);
    auto q4k = choose(FileType::kQ4_K_S, l, d);
    CHECK(q4k["blk.0.attn_q.weight"] == DType::Q5_0);
    CHECK(q4k["blk.0.attn_k.weight"] == DType::F16);
    CHECK(q4k["output.weight"] == DType::Q8_0);  // its Q6_K falls back to Q8_0
    CHECK(choose(FileType::kQ5_K_S, l, d)["blk.0.attn_q.weight"] == DType::Q5_1);
    CHECK(choose(FileType::kQ6_K, l, d)["blk.0.attn_q.weight"] == DType::Q8_0);
    CHECK(choose(FileType::kQ2_K, l, d)["blk.0.attn_q.weight"] == DType::Q4_0);
    CHECK(choose(FileType::kQ3_K_S, l, d)["blk.0.attn_q.weight"] == DType::Q4_0);
    CHECK(choose(FileType::kQ4_0, l, d)["blk.0.attn_k.weight"] == DType::F16);
    CHECK(choose(FileType::kQ8_0, l, d)["blk.0.attn_k.weight"] == DType::F16);
    CHECK(choose(FileType::kBF16, l, d)["blk.0.attn_k.weight"] == DType::BF16);
  }
  SECTION("malformed shapes are refused") {
    Described d;
    d.add("x.weight", {});
    d.finish();
    CHECK(choose_tensor_types(FileType::kQ4_0, layout_of(1, 32), d.shapes).status().code() ==
          StatusCode::kInvalidArgument);
    CHECK(choose_tensor_types(FileType(4), layout_of(1, 32), {}).status().code() == StatusCode::kInvalidArgument);
  }
}

// --- against llama.cpp's files ------------------------------------------------

TEST_CASE("quantize: Q4_K_M gives every tensor llama.cpp's dtype", "[quantize]") {
  test::TempDir dir("quantize");
  REQUIRE(dir.ok());
  const std::string out = dir.path() + "/q4_k_m.gguf";
  quantize_to(model_path("synth-kq-f32.gguf"), out, FileType::kQ4_K_M);
  auto ours = open_file(out);
  auto theirs = open_file(model_path("synth-kq-q4_k_m.gguf"));
  REQUIRE(ours->tensors().size() == theirs->tensors().size());
  size_t q6 = 0;
  for (const GgufTensor& t : ours->tensors()) {
    INFO(t.name);
    const GgufTensor* o = theirs->find_tensor(t.name);
    REQUIRE(o != nullptr);
    CHECK(t.dtype == o->dtype);
    q6 += t.dtype == DType::Q6_K;
  }
  CHECK(q6 == 3);  // output, blk.1.attn_v, blk.1.ffn_down
  CHECK(*ours->get_u32("general.file_type") == *theirs->get_u32("general.file_type"));
  CHECK(*ours->get_u32("general.quantization_version") == *theirs->get_u32("general.quantization_version"));
}

TEST_CASE("quantize: pure types match llama-quantize --pure; legacy and float bytes are identical",
          "[quantize]") {
  test::TempDir dir("quantize-pure");
  REQUIRE(dir.ok());
  auto src = open_file(model_path("synth-kq-f32.gguf"));
  const struct {
    const char* file;
    FileType type;
    bool same_bytes;
  } cases[] = {
      {"synth-kq-pure-q4_0.gguf", FileType::kQ4_0, true}, {"synth-kq-pure-q8_0.gguf", FileType::kQ8_0, true},
      {"synth-kq-pure-f16.gguf", FileType::kF16, true},   {"synth-kq-pure-bf16.gguf", FileType::kBF16, true},
      {"synth-kq-pure-q4_k.gguf", FileType::kQ4_K_M, false}, {"synth-kq-pure-q6_k.gguf", FileType::kQ6_K, false},
  };
  for (const auto& c : cases) {
    INFO(c.file);
    const std::string out = dir.path() + "/" + file_type_name(c.type) + ".gguf";
    quantize_to(model_path("synth-kq-f32.gguf"), out, c.type, /*pure=*/true);
    auto ours = open_file(out);
    auto theirs = open_file(model_path(c.file));
    CHECK(*ours->get_u32("general.file_type") == *theirs->get_u32("general.file_type"));
    REQUIRE(ours->tensors().size() == theirs->tensors().size());
    for (const GgufTensor& t : ours->tensors()) {
      INFO(t.name);
      const GgufTensor* o = theirs->find_tensor(t.name);
      REQUIRE(o != nullptr);
      REQUIRE(t.dtype == o->dtype);
      REQUIRE(t.bytes == o->bytes);
      if (c.same_bytes) {
        CHECK(std::memcmp(t.view.data, o->view.data, t.bytes) == 0);
      } else {
        // loci's K-quant search differs from llama.cpp's, so the bytes do; its
        // error must be no worse (2% slack for ties in a different search).
        const std::vector<float> ref = dequantized(*src->find_tensor(t.name));
        const double e_ours = relative_rms(dequantized(t), ref);
        const double e_theirs = relative_rms(dequantized(*o), ref);
        INFO("ours " << e_ours << " llama.cpp " << e_theirs);
        CHECK(e_ours <= e_theirs * 1.02 + 1e-9);
      }
    }
  }
}

TEST_CASE("quantize: stories260K to Q8_0 and Q4_0 is byte-identical to llama.cpp's files", "[quantize]") {
  test::TempDir dir("quantize-stories");
  REQUIRE(dir.ok());
  const struct {
    const char* file;
    FileType type;
    size_t fallbacks;  // ffn_down (172-wide rows) x5 to F16; Q4_0 also output's Q6_K to Q8_0
  } cases[] = {{"stories260K-q8_0.gguf", FileType::kQ8_0, 5}, {"stories260K-q4_0.gguf", FileType::kQ4_0, 6}};
  for (const auto& c : cases) {
    INFO(c.file);
    const std::string out = dir.path() + "/" + file_type_name(c.type) + ".gguf";
    const QuantizeReport r = quantize_to(model_path("stories260K.gguf"), out, c.type);
    CHECK(r.n_tensors == 48);
    CHECK(r.n_fallback == c.fallbacks);
    auto ours = open_file(out);
    auto theirs = open_file(model_path(c.file));
    REQUIRE(names_of(*ours) == names_of(*theirs));
    size_t f16 = 0;
    for (size_t i = 0; i < ours->tensors().size(); ++i) {
      const GgufTensor& a = ours->tensors()[i];
      const GgufTensor& b = theirs->tensors()[i];
      INFO(a.name);
      REQUIRE(a.dtype == b.dtype);
      REQUIRE(a.bytes == b.bytes);
      CHECK(std::memcmp(a.view.data, b.view.data, a.bytes) == 0);
      f16 += a.dtype == DType::F16;
    }
    CHECK(f16 == 5);
    // The metadata is llama.cpp's too, key for key and byte for byte.
    REQUIRE(ours->kvs().size() == theirs->kvs().size());
    for (size_t i = 0; i < ours->kvs().size(); ++i) {
      INFO(ours->kvs()[i].key);
      CHECK(ours->kvs()[i].key == theirs->kvs()[i].key);
      CHECK(ours->raw_value(ours->kvs()[i]) == theirs->raw_value(theirs->kvs()[i]));
    }
  }
}

// --- every file type ------------------------------------------------------------

TEST_CASE("quantize: every file type loads, runs, and stays within its error bound", "[quantize]") {
  test::TempDir dir("quantize-all");
  REQUIRE(dir.ok());
  for (const char* model : {"stories260K.gguf", "synth-kq-f32.gguf"}) {
    auto src = open_file(model_path(model));
    for (FileType type : file_types()) {
      INFO(model << " -> " << file_type_name(type));
      const std::string out = dir.path() + "/" + file_type_name(type) + ".gguf";
      const QuantizeReport r = quantize_to(model_path(model), out, type);
      auto q = open_file(out);
      CHECK(r.bytes_in == src->tensor_bytes());
      uint64_t bytes = 0;
      for (const GgufTensor& t : q->tensors()) bytes += t.bytes;
      CHECK(r.bytes_out == bytes);
      CHECK(*q->get_u32("general.file_type") == uint32_t(type));

      for (size_t i = 0; i < q->tensors().size(); ++i) {
        const GgufTensor& t = q->tensors()[i];
        INFO(t.name << " " << dtype_name(t.dtype));
        const double bound = error_bound(t.dtype);
        REQUIRE(bound >= 0);
        const double e = relative_rms(dequantized(t), dequantized(src->tensors()[i]));
        CHECK(e <= bound);
      }

      auto m = Model::load(out);
      REQUIRE(m.is_ok());
      SessionOptions o;
      o.n_ctx = 16;
      o.n_threads = 1;
      auto s = Session::create(*m, o);
      REQUIRE(s.is_ok());
      REQUIRE((*s)->eval(kTokens.data(), kTokens.size()).is_ok());
      const float* logits = (*s)->logits();
      REQUIRE(logits != nullptr);
      size_t finite = 0;
      for (size_t v = 0; v < (*s)->n_vocab(); ++v) finite += std::isfinite(logits[v]) ? 1 : 0;
      CHECK(finite == (*s)->n_vocab());
    }
  }
}

// --- the file around the tensors ---------------------------------------------------

TEST_CASE("quantize: metadata is copied exactly and tensor order kept", "[quantize]") {
  test::TempDir dir("quantize-meta");
  REQUIRE(dir.ok());
  // stories260K has no general.file_type; synth-kq-f32 has one (0) in the middle.
  for (const char* model : {"stories260K.gguf", "synth-kq-f32.gguf"}) {
    INFO(model);
    auto in = open_file(model_path(model));
    const std::string out = dir.path() + "/out.gguf";
    quantize_to(model_path(model), out, FileType::kQ5_K_M);
    auto q = open_file(out);

    std::vector<const GgufKv*> kept;
    for (const GgufKv& kv : in->kvs())
      if (kv.key != "general.file_type" && kv.key != "general.quantization_version") kept.push_back(&kv);
    REQUIRE(q->kvs().size() == kept.size() + 2);
    for (size_t i = 0; i < kept.size(); ++i) {
      INFO(kept[i]->key);
      const GgufKv& got = q->kvs()[i];
      CHECK(got.key == kept[i]->key);
      CHECK(got.type == kept[i]->type);
      CHECK(q->raw_value(got) == in->raw_value(*kept[i]));
    }
    // Appended last, in llama.cpp's order.
    CHECK(q->kvs()[kept.size()].key == "general.quantization_version");
    CHECK(q->kvs()[kept.size()].type == GgufType::kU32);
    CHECK(q->kvs()[kept.size()].i == 2);
    CHECK(q->kvs().back().key == "general.file_type");
    CHECK(q->kvs().back().type == GgufType::kU32);
    CHECK(q->kvs().back().i == int64_t(FileType::kQ5_K_M));

    REQUIRE(names_of(*q) == names_of(*in));
    for (size_t i = 0; i < q->tensors().size(); ++i) {
      CHECK(q->tensors()[i].ndim == in->tensors()[i].ndim);
      CHECK(std::equal(q->tensors()[i].ne, q->tensors()[i].ne + 4, in->tensors()[i].ne));
    }
  }
}

TEST_CASE("quantize: F16 and BF16 inputs convert like their F32 source", "[quantize]") {
  // llama.cpp's own F16/BF16 files of synth-kq-f32: quantized, they give the
  // F32 path's dtypes and values as close to its as the halves allow.
  test::TempDir dir("quantize-halves");
  REQUIRE(dir.ok());
  const std::string from_f32 = dir.path() + "/a.gguf";
  quantize_to(model_path("synth-kq-f32.gguf"), from_f32, FileType::kQ4_K_M);
  auto a = open_file(from_f32);
  for (const char* half : {"synth-kq-pure-f16.gguf", "synth-kq-pure-bf16.gguf"}) {
    INFO(half);
    const std::string out = dir.path() + "/b.gguf";
    quantize_to(model_path(half), out, FileType::kQ4_K_M);
    auto b = open_file(out);
    REQUIRE(a->tensors().size() == b->tensors().size());
    for (const GgufTensor& t : a->tensors()) {  // llama.cpp's files order tensors by block, then name
      INFO(t.name);
      const GgufTensor* u = b->find_tensor(t.name);
      REQUIRE(u != nullptr);
      CHECK(t.dtype == u->dtype);
      // Two quantizations of nearly equal inputs: far closer than either is to the source.
      CHECK(relative_rms(dequantized(*u), dequantized(t)) < 0.5 * error_bound(t.dtype) + 0.003);
    }
  }
}

TEST_CASE("quantize: refusals and failures leave nothing behind", "[quantize]") {
  test::TempDir dir("quantize-errors");
  REQUIRE(dir.ok());
  const std::string out = dir.path() + "/out.gguf";

  SECTION("an already quantized input is refused, naming the tensor and its type") {
    QuantizeOptions o;
    o.type = FileType::kQ4_0;
    auto r = quantize_model(model_path("stories260K-q8_0.gguf"), out, o);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(r.status().message(), Catch::Contains("stories260K-q8_0.gguf"));
    CHECK_THAT(r.status().message(), Catch::Contains("token_embd.weight"));
    CHECK_THAT(r.status().message(), Catch::Contains("q8_0"));
    CHECK_FALSE(test::file_exists(out));
  }
  SECTION("a missing input is an I/O error") {
    QuantizeOptions o;
    auto r = quantize_model(dir.path() + "/missing.gguf", out, o);
    CHECK(r.status().code() == StatusCode::kIoError);
    CHECK_FALSE(test::file_exists(out));
  }
  SECTION("an unwritable output directory is an I/O error with no .tmp left") {
    QuantizeOptions o;
    const std::string bad = dir.path() + "/no-such-dir/out.gguf";
    auto r = quantize_model(model_path("stories260K.gguf"), bad, o);
    CHECK(r.status().code() == StatusCode::kIoError);
    CHECK_FALSE(test::file_exists(bad + ".tmp"));
    CHECK_FALSE(test::file_exists(bad));
  }
  SECTION("an unknown file type is refused") {
    QuantizeOptions o;
    o.type = FileType(19);  // IQ2_XXS: not supported
    CHECK(quantize_model(model_path("stories260K.gguf"), out, o).status().code() == StatusCode::kInvalidArgument);
  }
  SECTION("a non-finite weight stops the write midway and removes the partial file") {
    // stories260K again, with one NaN in blk.2.attn_q.
    auto in = open_file(model_path("stories260K.gguf"));
    GgufWriter w;
    for (const GgufKv& kv : in->kvs()) w.copy_kv(*in, kv);
    for (const GgufTensor& t : in->tensors()) REQUIRE(w.add_tensor(t.name, t.dtype, t.ne, t.ndim).is_ok());
    const std::string nan_path = dir.path() + "/nan.gguf";
    REQUIRE(w.write_file(nan_path, [&](size_t i, void* dst) {
               const GgufTensor& t = in->tensors()[i];
               std::memcpy(dst, t.view.data, t.bytes);
               if (t.name == "blk.2.attn_q.weight") static_cast<float*>(dst)[100] = std::nanf("");
               return Status::ok();
             }).is_ok());
    std::vector<std::string> seen;
    QuantizeOptions o;
    o.type = FileType::kQ8_0;
    o.progress = [&](size_t, size_t, std::string_view name, DType) { seen.emplace_back(name); };
    auto r = quantize_model(nan_path, out, o);
    CHECK(r.status().code() == StatusCode::kInvalidModel);
    CHECK_THAT(r.status().message(), Catch::Contains("blk.2.attn_q.weight"));
    CHECK_THAT(r.status().message(), Catch::Contains("row 1 "));  // element 100 of 64-wide rows
    CHECK_FALSE(test::file_exists(out));
    CHECK_FALSE(test::file_exists(out + ".tmp"));
    // Progress reached every tensor before the bad one, and not the bad one.
    std::vector<std::string> before;
    for (const GgufTensor& t : in->tensors()) {
      if (t.name == "blk.2.attn_q.weight") break;
      before.emplace_back(t.name);
    }
    CHECK(seen == before);
  }
}

TEST_CASE("quantize: progress is reported once per tensor, in order", "[quantize]") {
  test::TempDir dir("quantize-progress");
  REQUIRE(dir.ok());
  const std::string out = dir.path() + "/out.gguf";
  struct Call {
    size_t done, total;
    std::string name;
    DType dtype;
  };
  std::vector<Call> calls;
  QuantizeOptions o;
  o.type = FileType::kQ4_K_M;
  o.n_threads = 2;
  o.progress = [&](size_t done, size_t total, std::string_view name, DType dtype) {
    calls.push_back({done, total, std::string(name), dtype});
  };
  auto r = quantize_model(model_path("synth-kq-f32.gguf"), out, o);
  REQUIRE(r.is_ok());
  auto q = open_file(out);
  REQUIRE(calls.size() == q->tensors().size());
  for (size_t i = 0; i < calls.size(); ++i) {
    INFO(i);
    CHECK(calls[i].done == i + 1);
    CHECK(calls[i].total == q->tensors().size());
    CHECK(calls[i].name == q->tensors()[i].name);
    CHECK(calls[i].dtype == q->tensors()[i].dtype);
  }
}

TEST_CASE("quantize: the thread count does not change the bytes", "[quantize]") {
  test::TempDir dir("quantize-threads");
  REQUIRE(dir.ok());
  std::vector<std::vector<uint8_t>> files;
  for (uint32_t threads : {1u, 2u, 3u}) {
    const std::string out = dir.path() + "/t" + std::to_string(threads) + ".gguf";
    QuantizeOptions o;
    o.type = FileType::kQ3_K_M;
    o.n_threads = threads;
    REQUIRE(quantize_model(model_path("synth-kq-f32.gguf"), out, o).is_ok());
    auto f = open_file(out);
    const auto* base = static_cast<const uint8_t*>(f->tensors().front().view.data);
    files.emplace_back(base, base + (f->file_size() - f->data_offset()));
  }
  CHECK(files[0] == files[1]);
  CHECK(files[0] == files[2]);
}
