// Unicode tables and UTF-8 helpers (see unicode.h).
#include "runtime/tokenizer/unicode.h"

#include <array>

namespace loci::detail {
namespace {

#include "runtime/tokenizer/unicode_tables.inc"

// GPT-2 keeps the printable Latin-1 bytes as themselves and moves the others
// (controls, space, DEL, NBSP, soft hyphen) to U+0100 onwards, in byte order.
constexpr bool bpe_byte_is_printable(int b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

constexpr std::array<uint16_t, 256> make_byte_to_cp() {
  std::array<uint16_t, 256> t{};
  int next = 0x100;
  for (int b = 0; b < 256; ++b) t[b] = static_cast<uint16_t>(bpe_byte_is_printable(b) ? b : next++);
  return t;
}

constexpr std::array<uint16_t, 256> kByteToCp = make_byte_to_cp();
constexpr uint32_t kMaxBpeCp = 0x144;  // 0x100 + the 68 moved bytes

constexpr std::array<int16_t, kMaxBpeCp> make_cp_to_byte() {
  std::array<int16_t, kMaxBpeCp> t{};
  for (auto& x : t) x = -1;
  for (int b = 0; b < 256; ++b) t[kByteToCp[b]] = static_cast<int16_t>(b);
  return t;
}

constexpr std::array<int16_t, kMaxBpeCp> kCpToByte = make_cp_to_byte();

template <size_t N>
bool in_ranges(const CodepointRange (&r)[N], uint32_t cp) {
  size_t lo = 0, hi = N;  // first range with r.hi >= cp
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (r[mid].hi < cp) lo = mid + 1;
    else hi = mid;
  }
  return lo < N && r[lo].lo <= cp;
}

bool is_continuation(std::string_view s, size_t i) { return (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80; }

}  // namespace

uint8_t codepoint_flags(uint32_t cp) {
  if (cp >= 0x110000) return kCpOther;
  return kFlagBlocks[size_t(kFlagBlockIndex[cp / kFlagBlockSize]) * kFlagBlockSize + cp % kFlagBlockSize];
}

uint32_t unicode_tables_version() { return kUnicodeVersionMajor; }

uint32_t decode_utf8_lenient(std::string_view s, size_t* pos) {
  const size_t i = *pos;
  const uint8_t b0 = static_cast<uint8_t>(s[i]);
  const size_t left = s.size() - i;
  if (b0 < 0x80) {
    *pos = i + 1;
    return b0;
  }
  size_t n = 0;
  uint32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    cp = b0 & 0x07;
  }
  bool ok = n != 0 && left >= n;
  for (size_t k = 1; ok && k < n; ++k) {
    ok = is_continuation(s, i + k);
    cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
  }
  if (!ok) {
    *pos = i + 1;
    return 0xFFFD;
  }
  *pos = i + n;
  return cp <= 0x10FFFF ? cp : 0xFFFD;
}

void append_utf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool in_deepseek_class(DeepseekClass c, uint32_t cp) {
  switch (c) {
    case DeepseekClass::kLetters: return in_ranges(kDeepseekLetters, cp);
    case DeepseekClass::kPunct: return in_ranges(kDeepseekPunct, cp);
    case DeepseekClass::kCjk: return in_ranges(kDeepseekCjk, cp);
  }
  return false;
}

uint32_t byte_to_bpe_codepoint(uint8_t b) { return kByteToCp[b]; }

int bpe_codepoint_to_byte(uint32_t cp) { return cp < kMaxBpeCp ? kCpToByte[cp] : -1; }

}  // namespace loci::detail
