#pragma once

// The parsed head of an HTTP/1.x message. Field views point into the head's own storage and
// stay valid until the parser starts the next message.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "routing/request_view.h"

namespace detour {

struct MessageHead {
  // Request line (requests only).
  std::string_view method;
  std::string_view target;  // request-target as received
  // Status line (responses only).
  int status = 0;
  std::string_view reason;

  int version_major = 1;
  int version_minor = 1;
  std::vector<HeaderView> headers;  // in received order, values trimmed

  // Framing as the parser determined it.
  bool keep_alive = false;        // llhttp_should_keep_alive() at head completion
  bool chunked = false;           // Transfer-Encoding ends in chunked
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool upgrade = false;           // Upgrade (with Connection: upgrade) or CONNECT
  bool expect_continue = false;   // Expect: 100-continue
  int host_count = 0;             // number of Host fields
  std::string_view host;          // the (first) Host field value, as received

  // First header value with this name (case-insensitive), or empty when absent.
  std::string_view find(std::string_view name) const;
  // True when any `Connection` field lists `token` (case-insensitive).
  bool connectionHas(std::string_view token) const;
  // True when a body follows the head (chunked or Content-Length > 0).
  bool hasBody() const { return chunked || content_length > 0; }
  bool isHttp10() const { return version_major == 1 && version_minor == 0; }
};

}  // namespace detour
