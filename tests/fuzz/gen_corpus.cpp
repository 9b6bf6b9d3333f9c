// Writes the fuzzers' seed corpus (nothing binary is committed):
//   <out>/gguf/       valid tiny models + every crafted CVE-class file
//   <out>/model/      the same files (the model target skips what fails to load)
//   <out>/tokenizer/  short texts: specials, whitespace, scripts, bad UTF-8
// Usage: loci_fuzz_gen_corpus <out-dir>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "support/cve_corpus.h"
#include "support/gguf_writer.h"

namespace fs = std::filesystem;
using loci::test::write_file;

namespace {

const std::vector<std::string>& texts() {
  static const std::vector<std::string> t = {
      "Hello world",
      " Hello  world ",
      "\n\n\t  \r\n",
      "Once upon a time, there was a little girl named Lily.",
      "<s>[INST] hi [/INST]</s>",
      "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
      "<|endoftext|><|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>",
      "3333333333 12345 1.5e-10 0x1F",
      "I've they'll we'RE don't",
      "\xE2\x96\x81\xE2\x96\x81 \xE2\x96\x81x",
      "\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96\xE7\x95\x8C \xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4",
      "\xF0\x9F\x98\x80\xF0\x9F\xA6\x99 \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9",
      "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 \xD8\xB9\xD8\xB1\xD8\xA8\xD9\x8A",
      "\xC0\x80\xED\xA0\x80\xF4\x90\x80\x80\xFF\xFE\x80",  // overlong, surrogate, past U+10FFFF, stray bytes
      std::string("a\0b\0\0c", 6),
      "        indented\n    code();",
      "!!!???...,,,;;;",
      "[UNK_BYTE_0x00]",
      "<unk><0x0A><0xE2>",
  };
  return t;
}

bool write_all(const fs::path& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string p = (dir / name).string();
  if (write_file(p, bytes)) return true;
  std::fprintf(stderr, "loci_fuzz_gen_corpus: cannot write %s\n", p.c_str());
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <out-dir>\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];
  std::error_code ec;
  for (const char* sub : {"gguf", "model", "tokenizer"}) {
    fs::remove_all(out / sub, ec);
    fs::create_directories(out / sub, ec);
    if (ec) {
      std::fprintf(stderr, "loci_fuzz_gen_corpus: cannot create %s\n", (out / sub).string().c_str());
      return 1;
    }
  }
  bool ok = true;
  size_t n_files = 0;
  auto model_file = [&](const std::string& name, const std::vector<uint8_t>& bytes) {
    ok = write_all(out / "gguf", name, bytes) && write_all(out / "model", name, bytes) && ok;
    ++n_files;
  };
  for (const loci::test::NamedImage& m : loci::test::valid_seed_models()) model_file(m.name, m.bytes);
  for (const loci::test::CveCase& c : loci::test::cve_cases()) model_file(c.name, c.bytes);
  for (size_t i = 0; i < texts().size(); ++i)
    ok = write_all(out / "tokenizer", "text-" + std::to_string(i), {texts()[i].begin(), texts()[i].end()}) && ok;
  std::printf("loci_fuzz_gen_corpus: %zu model files, %zu texts in %s\n", n_files, texts().size(), out.string().c_str());
  return ok ? 0 : 1;
}
