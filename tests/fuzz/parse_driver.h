#pragma once

// Drives an Http1Parser over one connection's bytes the way DownstreamConnection and
// UpstreamConnection do (feed, act on each event, feed the rest, finish() at EOF) and writes
// down every event as a line of text, so that runs with the bytes cut differently can be
// compared: the parser must not care where reads end.

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "http/parser.h"

namespace detour::fuzz {

// How the stream is cut into execute() calls.
enum class Pieces {
  kWhole,   // one call with everything
  kBytes,   // one byte per call
  kRandom,  // sizes from Rng::piece
};

// Called at each kHeadComplete with the parser and the message's index on the connection.
// `check` is true in the first run only, where the hook asserts its invariants; in every run
// it must make the same calls on the parser (skipBody()...).
using HeadHook = std::function<void(Http1Parser& parser, size_t message, bool check)>;

// Collects decoded body bytes as a count and a hash.
class BodyDigest : public BodySink {
 public:
  void onBodyData(const char* data, size_t len) override {
    FUZZ_CHECK(len > 0, "empty body callback");
    size_ += len;
    for (size_t i = 0; i < len; ++i) {
      hash_ ^= static_cast<unsigned char>(data[i]);
      hash_ *= 1099511628211ULL;
    }
  }
  std::string take() {
    std::string s = std::to_string(size_) + "/" + std::to_string(hash_);
    size_ = 0;
    hash_ = 1469598103934665603ULL;
    return s;
  }

 private:
  uint64_t size_ = 0;
  uint64_t hash_ = 1469598103934665603ULL;
};

// One line describing a parsed head: everything a caller reads from MessageHead.
inline std::string describeHead(const MessageHead& h) {
  std::string s =
      "method=" + printable(h.method) + " target=" + printable(h.target) +
      " status=" + std::to_string(h.status) + " reason=" + printable(h.reason) +
      " version=" + std::to_string(h.version_major) + "." + std::to_string(h.version_minor) +
      " keep_alive=" + std::to_string(h.keep_alive) + " chunked=" + std::to_string(h.chunked) +
      " cl=" + (h.has_content_length ? std::to_string(h.content_length) : "-") +
      " upgrade=" + std::to_string(h.upgrade) + " expect=" + std::to_string(h.expect_continue) +
      " hosts=" + std::to_string(h.host_count) + " host=" + printable(h.host) + " headers=";
  for (const auto& f : h.headers) s += "[" + printable(f.name) + ": " + printable(f.value) + "]";
  return s;
}

inline const char* eventName(ParseEvent e) {
  switch (e) {
    case ParseEvent::kNeedMore:
      return "need-more";
    case ParseEvent::kHeadComplete:
      return "head";
    case ParseEvent::kMessageComplete:
      return "end";
    case ParseEvent::kError:
      return "error";
  }
  return "?";
}

// Feeds `input` to a new parser of `kind` cut as `pieces` says (`seed` seeds kRandom), then
// calls finish() unless the parser stopped. Returns the transcript: one line per event with
// the input offset it happened at. Checks the contract of parser.h on the way (consumed never
// exceeds what was given, kNeedMore consumes everything, progress is made).
inline std::string runParser(Http1Parser::Kind kind, const ParserLimits& limits,
                             std::string_view input, Pieces pieces, uint64_t seed,
                             const HeadHook& on_head, bool check) {
  std::unique_ptr<Http1Parser> parser = Http1Parser::create(kind, limits);
  BodyDigest body;
  parser->setBodySink(&body);
  Rng rng(seed);
  std::string out;
  size_t offset = 0;
  size_t messages = 0;
  size_t calls = 0;
  bool stopped = false;
  while (offset < input.size() && !stopped) {
    size_t remaining = input.size() - offset;
    size_t piece = pieces == Pieces::kWhole   ? remaining
                   : pieces == Pieces::kBytes ? 1
                                              : rng.piece(remaining);
    size_t left = piece;  // bytes of this piece (one read) not consumed yet
    // As the connections do: after each event, call again with what is left of the read,
    // even nothing (a message without a body completes on that call; the data pointer is then
    // null, as an empty evbuffer gives), until kNeedMore.
    bool need_more = false;
    while (!need_more && !stopped) {
      ParseResult r = parser->execute(left > 0 ? input.data() + offset : nullptr, left);
      FUZZ_CHECK(r.consumed <= left, "consumed " + std::to_string(r.consumed) + " of " +
                                         std::to_string(left) + " bytes");
      FUZZ_CHECK(++calls <= 4 * input.size() + 16, "the parser makes no progress");
      offset += r.consumed;
      left -= r.consumed;
      std::string at = std::string(eventName(r.event)) + "@" + std::to_string(offset);
      switch (r.event) {
        case ParseEvent::kNeedMore:
          FUZZ_CHECK(left == 0, "kNeedMore left " + std::to_string(left) + " bytes unconsumed");
          need_more = true;
          break;
        case ParseEvent::kHeadComplete:
          FUZZ_CHECK(parser->headComplete(), "kHeadComplete but headComplete() is false");
          out += at + " " + describeHead(parser->head()) + "\n";
          on_head(*parser, messages, check);
          break;
        case ParseEvent::kMessageComplete:
          out += at + " body=" + body.take() + "\n";
          ++messages;
          break;
        case ParseEvent::kError:
          // Where an error is noticed may depend on the cut (a span callback runs at the end
          // of each piece); the parser is dead afterwards, so the offset is left out.
          out += "error status=" + std::to_string(parser->errorStatus()) +
                 " reason=" + printable(parser->errorReason()) + "\n";
          stopped = true;
          break;
      }
    }
  }
  if (!stopped) {
    ParseResult r = parser->finish();
    FUZZ_CHECK(r.consumed == 0, "finish() consumed bytes");
    out += std::string("finish:") + eventName(r.event);
    if (r.event == ParseEvent::kMessageComplete) out += " body=" + body.take();
    if (r.event == ParseEvent::kError) out += " status=" + std::to_string(parser->errorStatus());
    out += "\n";
  }
  return out;
}

// Compares two transcripts line by line. Lines must be equal, except error lines, where the
// status alone is compared (the reason names whichever check fired first) and a limit status
// (414, 431) may stand for a 400: limits are enforced in span callbacks, which run at the end of
// every piece, so a field can be counted as one too many before the byte that makes it
// malformed arrives. Returns "" or the first difference.
inline std::string transcriptDifference(const std::string& a, const std::string& b) {
  auto lines = [](const std::string& s) {
    std::vector<std::string> v;
    size_t start = 0;
    while (start < s.size()) {
      size_t nl = s.find('\n', start);
      v.push_back(s.substr(start, nl - start));
      start = nl + 1;
    }
    return v;
  };
  auto errorStatus = [](const std::string& line) -> int {
    if (line.rfind("error status=", 0) != 0) return -1;
    return std::atoi(line.c_str() + 13);
  };
  std::vector<std::string> la = lines(a), lb = lines(b);
  for (size_t i = 0; i < la.size() || i < lb.size(); ++i) {
    std::string x = i < la.size() ? la[i] : "(nothing)";
    std::string y = i < lb.size() ? lb[i] : "(nothing)";
    if (x == y) continue;
    int sx = errorStatus(x), sy = errorStatus(y);
    auto limit = [](int st) { return st == 414 || st == 431; };
    if (sx >= 0 && sy >= 0 && (sx == sy || (sx == 400 && limit(sy)) || (sy == 400 && limit(sx)))) {
      continue;
    }
    return "\n    one piece: " + x + "\n    other:     " + y;
  }
  return "";
}

// Runs the three cuts and checks that they produce the same transcript. Returns it.
inline std::string parseEveryWay(Http1Parser::Kind kind, const ParserLimits& limits,
                                 std::string_view input, uint64_t seed, const HeadHook& on_head) {
  std::string whole = runParser(kind, limits, input, Pieces::kWhole, seed, on_head, true);
  if (std::getenv("DETOUR_FUZZ_TRACE") != nullptr) {  // docs/fuzzing.md: reproducing a crash
    std::fprintf(stderr, "limits: max_head_bytes=%zu max_headers=%zu\n%s", limits.max_head_bytes,
                 limits.max_headers, whole.c_str());
  }
  std::string bytes = runParser(kind, limits, input, Pieces::kBytes, seed, on_head, false);
  std::string diff = transcriptDifference(whole, bytes);
  FUZZ_CHECK(diff.empty(), "one piece and byte-by-byte differ:" + diff);
  std::string random = runParser(kind, limits, input, Pieces::kRandom, seed, on_head, false);
  diff = transcriptDifference(whole, random);
  FUZZ_CHECK(diff.empty(), "one piece and random pieces differ:" + diff);
  return whole;
}

// Checks what every parsed head must satisfy, request or response: no CR, LF or NUL in any
// field, header names are tokens, values carry no leading or trailing whitespace.
inline void checkParsedHead(const MessageHead& h) {
  FUZZ_CHECK(!hasCrLfNul(h.method), "method: " + printable(h.method));
  FUZZ_CHECK(!hasCrLfNul(h.target), "target: " + printable(h.target));
  FUZZ_CHECK(!hasCrLfNul(h.reason), "reason: " + printable(h.reason));
  for (const auto& f : h.headers) {
    FUZZ_CHECK(isToken(f.name), "header name: " + printable(f.name));
    FUZZ_CHECK(!hasCrLfNul(f.value), "header value: " + printable(f.value));
    bool trimmed = f.value.empty() || (f.value.front() != ' ' && f.value.front() != '\t' &&
                                       f.value.back() != ' ' && f.value.back() != '\t');
    FUZZ_CHECK(trimmed, "untrimmed header value: [" + printable(f.value) + "]");
  }
  FUZZ_CHECK(!hasCrLfNul(h.host), "host: " + printable(h.host));
}

}  // namespace detour::fuzz
