#pragma once

// Helpers shared by the libFuzzer targets in tests/fuzz (docs/fuzzing.md): an invariant check
// that prints what broke and aborts (libFuzzer then saves the input as a crash file), byte
// predicates for the invariants, and a deterministic source of piece sizes.
//
// The targets read plain bytes, never FuzzedDataProvider's tail-encoded integers, so that a
// seed is a request, a response, a YAML file or a few text lines a person can read and edit.
// Whatever else a target needs (piece sizes, limits, options) is derived from a hash of the
// input: the same input always takes the same path.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace detour::fuzz {

// `s` with every byte outside printable ASCII written as \r, \n, \t, \0 or \xNN; at most
// `max` input bytes, then "...".
inline std::string printable(std::string_view s, size_t max = 400) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\0':
        out += "\\0";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

// Prints the failed condition and `detail`, then aborts. libFuzzer treats the abort as a crash
// and writes the input to crash-<sha1> (or the -artifact_prefix given).
[[noreturn]] inline void failCheck(const char* file, int line, const char* condition,
                                   const std::string& detail) {
  std::fprintf(stderr, "\n%s:%d: fuzz invariant failed: %s\n", file, line, condition);
  if (!detail.empty()) std::fprintf(stderr, "  %s\n", detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// Checks an invariant in every build type (fuzz builds use NDEBUG too). `detail` is any
// expression convertible to std::string; it is only evaluated when the check fails.
#define FUZZ_CHECK(cond, detail)                                               \
  do {                                                                         \
    if (!(cond)) ::detour::fuzz::failCheck(__FILE__, __LINE__, #cond, detail); \
  } while (0)

// True when `s` holds CR, LF or NUL.
inline bool hasCrLfNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// True when every byte of `s` may stand in a URI as detour writes one into Location: visible
// ASCII (0x21-0x7e) except the bytes RFC 3986 leaves out, " < > \ ^ ` { | } (rule_table.h,
// Template).
inline bool onlyUriBytes(std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f) return false;
    if (std::string_view("\"<>\\^`{|}").find(ch) != std::string_view::npos) return false;
  }
  return true;
}

// True when `head` is a serialized message head that cannot be read two ways: no NUL, every
// CR is followed by LF and every LF preceded by CR, no line but the last is empty, and it ends
// with the blank line. On false, *why says what is wrong.
inline bool wellFormedHead(std::string_view head, std::string* why) {
  if (head.find('\0') != std::string_view::npos) {
    *why = "NUL in the head";
    return false;
  }
  for (size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\r' && (i + 1 == head.size() || head[i + 1] != '\n')) {
      *why = "bare CR at offset " + std::to_string(i);
      return false;
    }
    if (head[i] == '\n' && (i == 0 || head[i - 1] != '\r')) {
      *why = "bare LF at offset " + std::to_string(i);
      return false;
    }
  }
  size_t blank = head.find("\r\n\r\n");
  if (blank == std::string_view::npos || blank + 4 != head.size()) {
    *why = "the blank line is not (only) at the end";
    return false;
  }
  return true;
}

// True for an RFC 9110 token character (header names, methods).
inline bool isTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

inline bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!isTchar(c)) return false;
  }
  return true;
}

// 64-bit FNV-1a.
inline uint64_t hashBytes(const uint8_t* data, size_t size) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 1099511628211ULL;
  }
  return h;
}

// A small deterministic generator (splitmix64), seeded from the input's hash.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // A piece size in [1, remaining], mostly small: most boundaries fall inside tokens.
  size_t piece(size_t remaining) {
    if (remaining <= 1) return remaining;
    uint64_t r = next();
    size_t max = (r & 3) == 0 ? remaining : std::min<size_t>(remaining, 1 + (r >> 2) % 16);
    return 1 + static_cast<size_t>((r >> 8) % max);
  }

 private:
  uint64_t state_;
};

// Splits `text` at '\n' into at most `max_fields` fields; the last field keeps the rest of the
// text, newlines included. Missing fields are empty.
inline std::vector<std::string_view> splitFields(std::string_view text, size_t max_fields) {
  std::vector<std::string_view> fields;
  while (fields.size() + 1 < max_fields) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) break;
    fields.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  fields.push_back(text);
  fields.resize(max_fields);
  return fields;
}

}  // namespace detour::fuzz
