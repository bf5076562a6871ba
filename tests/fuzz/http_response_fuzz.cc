// Fuzzes the backend side: the response parser, then for each complete head what
// Forwarder::onResponseHead sends to the client (appendDownstreamResponseHead with the options
// it computes).
//
// Input: the bytes a backend sends on one connection (interim 1xx answers and several
// responses allowed; the end of the input is the backend closing). Whether the request was
// HEAD, HTTP/1.0 or an upgrade, and whether extra header lines are configured, come from a
// hash of the input.
//
// Invariants:
//   - the same events at the same offsets whether the bytes come in one piece, one byte at a
//     time or in random pieces (as in http_request_fuzz.cc);
//   - no parsed reason, header name or value holds CR, LF or NUL;
//   - the head sent to the client has no bare CR or LF, ends with its only blank line, parses
//     again as a response with the same status, and frames the body as the bytes that follow
//     it are framed: the backend's chunked/Content-Length when passed through, neither when
//     detour de-chunks for an HTTP/1.0 client (then it must close).

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "http/forwarding_headers.h"
#include "parse_driver.h"

namespace detour::fuzz {
namespace {

struct Exchange {
  bool head_method = false;    // the request was HEAD: no body whatever the headers say
  bool client_http10 = false;  // the client spoke HTTP/1.0: chunked bodies are decoded
  bool upgrade = false;        // the request asked for an upgrade
  bool client_keep_alive = true;
  bool extra_lines = false;  // HSTS configured
};

Exchange exchangeFor(uint64_t seed, size_t message) {
  uint64_t bits = seed >> (5 * (message % 8));
  Exchange e;
  e.head_method = (bits & 1) != 0;
  e.client_http10 = (bits & 2) != 0;
  e.upgrade = (bits & 4) != 0;
  e.client_keep_alive = (bits & 8) == 0;
  e.extra_lines = (bits & 16) != 0;
  return e;
}

void checkDownstreamHead(const MessageHead& h, const DownstreamResponseOptions& opts,
                         bool no_body) {
  std::string out;
  appendDownstreamResponseHead(out, h, opts);
  std::string why;
  FUZZ_CHECK(wellFormedHead(out, &why), why + " in the client head: " + printable(out));
  FUZZ_CHECK(out.rfind("HTTP/1.1 ", 0) == 0, "status line: " + printable(out));
  ParserLimits unlimited{out.size() + 1, 100000};
  auto again = Http1Parser::create(Http1Parser::Kind::kResponse, unlimited);
  ParseResult r = again->execute(out.data(), out.size());
  FUZZ_CHECK(r.event == ParseEvent::kHeadComplete && r.consumed == out.size(),
             "the client head does not parse: " + std::string(again->errorReason()) + ": " +
                 printable(out));
  const MessageHead& d = again->head();
  FUZZ_CHECK(d.status == h.status, "status " + std::to_string(h.status) + " became " +
                                       std::to_string(d.status) + ": " + printable(out));
  if (no_body) return;  // HEAD, 1xx, 204, 304: the framing headers describe nothing sent
  if (opts.drop_chunked) {
    FUZZ_CHECK(!d.chunked && !d.has_content_length && opts.close,
               "a de-chunked body must be delimited by close: " + printable(out));
  } else {
    FUZZ_CHECK(d.chunked == h.chunked && d.has_content_length == h.has_content_length &&
                   d.content_length == h.content_length,
               "the client head frames the body differently (backend: " + describeHead(h) +
                   ") client head: " + printable(out));
  }
}

// Forwarder::onResponseHead, minus the I/O.
void onResponseHead(Http1Parser& parser, size_t message, bool check, uint64_t seed) {
  const MessageHead& h = parser.head();
  Exchange e = exchangeFor(seed, message);
  if (e.head_method) parser.skipBody();
  if (!check) return;
  checkParsedHead(h);
  FUZZ_CHECK(h.status >= 100 && h.status <= 999, "status " + std::to_string(h.status));
  if (h.status >= 100 && h.status < 200 && h.status != 101) {
    if (!e.client_http10) checkDownstreamHead(h, {}, true);
    return;
  }
  if (h.status == 101) {
    if (!e.upgrade) return;  // 502: switched protocols unasked
    DownstreamResponseOptions opts;
    opts.upgrade = true;
    checkDownstreamHead(h, opts, true);
    return;
  }
  bool no_body = e.head_method || h.status == 204 || h.status == 304;
  bool close_delimited = !no_body && !h.chunked && !h.has_content_length;
  bool dechunk = e.client_http10 && h.chunked && !no_body;
  DownstreamResponseOptions opts;
  opts.close = close_delimited || dechunk || !e.client_keep_alive || e.upgrade;
  opts.keep_alive_10 = e.client_http10 && !opts.close;
  opts.drop_chunked = dechunk;
  if (e.extra_lines) opts.extra_lines = "Strict-Transport-Security: max-age=31536000\r\n";
  checkDownstreamHead(h, opts, no_body);
}

}  // namespace
}  // namespace detour::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace detour;
  using namespace detour::fuzz;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  uint64_t seed = hashBytes(data, size);
  ParserLimits limits;
  if ((seed & 0x300000000ULL) == 0) {  // a quarter of the inputs run under tight limits
    limits.max_head_bytes = 16 + (seed >> 40) % 512;
    limits.max_headers = (seed >> 50) % 8;
  }
  parseEveryWay(Http1Parser::Kind::kResponse, limits, input, seed,
                [seed](Http1Parser& parser, size_t message, bool check) {
                  onResponseHead(parser, message, check, seed);
                });
  return 0;
}
