#pragma once

// Rewriting message heads between the client and a backend (contract §5): hop-by-hop fields
// removed (Connection and the fields it names, Keep-Alive, Proxy-Connection, TE, Upgrade unless
// upgrading), X-Forwarded-For appended, X-Forwarded-Proto/-Host set (kept only from trusted
// proxies), X-Request-Id added when absent. Pure functions appending exact bytes.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.h"

namespace detour {

// True for fields that describe one connection and never cross the proxy.
bool isHopByHop(std::string_view name);

// True when the request asks to switch to WebSocket and nothing else: it is an upgrade
// (Connection: upgrade) and every token of its Upgrade fields is `websocket` (any case). Only
// such a request is forwarded as an upgrade and may become a tunnel; any other Upgrade (h2c...)
// is dropped as hop-by-hop, so that a tunnel can never carry requests past the rule table.
bool asksWebSocketUpgrade(const MessageHead& req);

struct UpstreamRequestContext {
  std::string_view target;      // request-target to send (origin-form; strip_prefix applied)
  std::string_view client_ip;   // the peer's address
  bool peer_trusted = false;    // the peer is in server.trusted_proxies
  std::string_view scheme;      // "http" | "https": how the request reached detour
  std::string_view host;        // the Host to send when the request had none (HTTP/1.0)
  std::string_view request_id;  // added as X-Request-Id when the request has none
  const std::vector<std::pair<std::string, std::string>>* set_headers = nullptr;
  bool upgrade = false;         // pass Upgrade + Connection: upgrade (asksWebSocketUpgrade)
};

// The request head to send upstream (always HTTP/1.1), ending with the blank line.
void appendUpstreamRequestHead(std::string& out, const MessageHead& req,
                               const UpstreamRequestContext& ctx);

struct DownstreamResponseOptions {
  bool close = false;          // send Connection: close
  bool keep_alive_10 = false;  // HTTP/1.0 client kept alive: Connection: keep-alive
  bool drop_chunked = false;   // the body is re-framed (decoded, delimited by close)
  bool drop_framing = false;   // a 204: no Content-Length or Transfer-Encoding (RFC 9110 8.6)
  bool upgrade = false;        // a 101 answer: keep Upgrade, send Connection: upgrade
  std::string_view extra_lines;  // more header lines ending in CRLF (HSTS...)
};

// The response head to send to the client (always HTTP/1.1), ending with the blank line.
void appendDownstreamResponseHead(std::string& out, const MessageHead& resp,
                                  const DownstreamResponseOptions& opts);

}  // namespace detour
