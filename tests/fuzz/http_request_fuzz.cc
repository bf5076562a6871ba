// Fuzzes the client side of the request path: the request parser under its limits, then for
// each complete head what DownstreamConnection::routeRequest and startForward do with it
// (splitTarget, splitHost, appendUpstreamRequestHead).
//
// Input: the bytes a client sends on one connection (pipelined requests allowed). Limits,
// the peer's trust and the forward options come from a hash of the input.
//
// Invariants:
//   - the parser gives the same events at the same offsets whether the bytes come in one
//     piece, one byte at a time or in random pieces (an error's offset and reason aside, and a
//     limit status may stand for a 400: parse_driver.h, transcriptDifference);
//   - no parsed method, target, header name or value holds CR, LF or NUL; names and methods
//     are tokens; only HTTP/1.0 and HTTP/1.1 requests are accepted;
//   - splitTarget's and splitHost's results are parts of their input, in the documented form;
//   - the head sent upstream has no bare CR or LF, ends with its only blank line, parses
//     again as a request, and keeps the request's framing (chunked, Content-Length) and
//     target: the forwarder passes body bytes on unchanged, so a framing the backend reads
//     differently would smuggle a request.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/string_util.h"
#include "fuzz_util.h"
#include "http/forwarding_headers.h"
#include "parse_driver.h"
#include "proxy/request_target.h"

namespace detour::fuzz {
namespace {

bool within(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void checkTarget(std::string_view target, const TargetParts& t) {
  FUZZ_CHECK(!t.path.empty(), "empty path from " + printable(target));
  if (t.asterisk) {
    FUZZ_CHECK(t.path == "*", "asterisk-form path " + printable(t.path));
    return;
  }
  FUZZ_CHECK(t.path.front() == '/', "path " + printable(t.path) + " from " + printable(target));
  FUZZ_CHECK(t.path == "/" || within(t.path, target), "path is not part of the target");
  FUZZ_CHECK(within(t.query, target) && within(t.authority, target) && within(t.scheme, target),
             "a part is not part of the target " + printable(target));
  FUZZ_CHECK(t.query.empty() || t.query.front() == '?', "query " + printable(t.query));
  FUZZ_CHECK(t.path.find_first_of("?#") == std::string_view::npos, "path " + printable(t.path));
  FUZZ_CHECK(t.query.find('#') == std::string_view::npos, "query " + printable(t.query));
}

void checkHost(std::string_view value, const std::string& host, std::string_view port) {
  FUZZ_CHECK(!host.empty(), "empty host from " + printable(value));
  FUZZ_CHECK(asciiLowerCopy(host) == host, "host not lower-cased: " + printable(host));
  FUZZ_CHECK(host.find_first_of(" \t\r\n/?#@") == std::string::npos, "host " + printable(host));
  FUZZ_CHECK(port.size() <= 5 && within(port, value), "port " + printable(port));
  for (char c : port) FUZZ_CHECK(c >= '0' && c <= '9', "port " + printable(port));
}

// The upstream head for `h` as startForward builds it, checked and parsed again.
void checkForward(const MessageHead& h, const TargetParts& target, const std::string& host,
                  uint64_t seed) {
  static const std::vector<std::pair<std::string, std::string>> kSetHeaders = {
      {"X-Env", "fuzz"}, {"Host", "backend.internal"}};
  static const std::vector<std::pair<std::string, std::string>> kNoHeaders;
  std::string upstream_target(target.path);
  if ((seed & 8) && startsWith(upstream_target, "/api")) {  // forward.strip_prefix: /api
    upstream_target.erase(0, 4);
    if (upstream_target.empty() || upstream_target.front() != '/') upstream_target.insert(0, "/");
  }
  upstream_target.append(target.query);
  std::string_view rid = h.find("x-request-id");
  UpstreamRequestContext ctx;
  ctx.target = upstream_target;
  ctx.client_ip = "192.0.2.7";
  ctx.peer_trusted = (seed & 16) != 0;
  ctx.scheme = (seed & 32) ? "https" : "http";
  ctx.host = host.empty() ? std::string_view("127.0.0.1:8080") : std::string_view(host);
  ctx.request_id = rid.empty() ? std::string_view("0123456789abcdef") : std::string_view();
  ctx.set_headers = (seed & 64) ? &kSetHeaders : &kNoHeaders;
  ctx.upgrade = h.upgrade && !h.find("upgrade").empty();
  std::string out;
  appendUpstreamRequestHead(out, h, ctx);

  std::string why;
  FUZZ_CHECK(wellFormedHead(out, &why), why + " in the upstream head: " + printable(out));
  ParserLimits unlimited{out.size() + 1, 100000};
  auto again = Http1Parser::create(Http1Parser::Kind::kRequest, unlimited);
  ParseResult r = again->execute(out.data(), out.size());
  FUZZ_CHECK(r.event == ParseEvent::kHeadComplete && r.consumed == out.size(),
             "the upstream head does not parse: " + std::string(again->errorReason()) + ": " +
                 printable(out));
  const MessageHead& u = again->head();
  FUZZ_CHECK(u.method == h.method && u.target == upstream_target,
             "method/target changed: " + printable(out));
  FUZZ_CHECK(u.chunked == h.chunked && u.has_content_length == h.has_content_length &&
                 u.content_length == h.content_length,
             "the upstream head frames the body differently (client: " + describeHead(h) +
                 ") upstream head: " + printable(out));
  FUZZ_CHECK(u.host_count == 1, "upstream Host fields: " + std::to_string(u.host_count));
}

void onRequestHead(Http1Parser& parser, size_t /*message*/, bool check, uint64_t seed) {
  if (!check) return;
  const MessageHead& h = parser.head();
  checkParsedHead(h);
  FUZZ_CHECK(isToken(h.method), "method " + printable(h.method));
  // Contract §5: HTTP/1.1 and 1.0; any other version is answered (505), never forwarded.
  FUZZ_CHECK(h.version_major == 1 && h.version_minor <= 1,
             "accepted HTTP/" + std::to_string(h.version_major) + "." +
                 std::to_string(h.version_minor) + " request: " + describeHead(h));
  // DownstreamConnection::routeRequest from here on.
  if (h.method == "CONNECT") return;
  TargetParts target;
  if (!splitTarget(h.target, target)) return;
  checkTarget(h.target, target);
  if (target.asterisk) return;
  std::string_view host_value = target.authority.empty() ? h.host : target.authority;
  std::string host;
  std::string_view port;
  if (!host_value.empty()) {
    if (!splitHost(host_value, host, port)) return;
    checkHost(host_value, host, port);
  }
  checkForward(h, target, host, seed);
}

}  // namespace
}  // namespace detour::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace detour;
  using namespace detour::fuzz;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  uint64_t seed = hashBytes(data, size);
  ParserLimits limits;    // the defaults (server.limits.max_header_bytes: 16384)
  if ((seed & 3) == 0) {  // a quarter of the inputs run under tight limits
    limits.max_head_bytes = 16 + (seed >> 8) % 512;
    limits.max_headers = (seed >> 20) % 8;
  }
  parseEveryWay(Http1Parser::Kind::kRequest, limits, input, seed,
                [seed](Http1Parser& parser, size_t message, bool check) {
                  onRequestHead(parser, message, check, seed);
                });
  return 0;
}
