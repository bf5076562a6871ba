#pragma once

// Responses detour writes itself: redirects, `respond` rules and errors. Pure functions that
// append exact bytes to a string; writing them to the connection is the caller's job.

#include <string>
#include <string_view>

#include "routing/rule_table.h"

namespace detour {

struct ResponseOptions {
  bool head_request = false;   // HEAD: same headers, no body
  bool close = false;          // add "Connection: close"
  bool keep_alive_10 = false;  // HTTP/1.0 client asked for keep-alive: echo "Connection: keep-alive"
  std::string_view date_line;  // "Date: ...\r\n" (may be empty)
  std::string_view extra_lines;  // more header lines ending in CRLF (HSTS, X-Request-Id...)
};

// A redirect: status line, Location, the rule's Cache-Control/Retry-After, a short text body.
void appendRedirectResponse(std::string& out, const CompiledRedirect& redirect,
                            std::string_view location, const ResponseOptions& opts);

// A `respond` rule's fixed answer.
void appendFixedResponse(std::string& out, const CompiledRespond& respond,
                         const ResponseOptions& opts);

// An error or plain status answer with a one-line text body ("404 Not Found\n").
// `extra_headers` are more lines ending in CRLF (e.g. "Retry-After: 5\r\n").
void appendStatusResponse(std::string& out, int status, std::string_view extra_headers,
                          const ResponseOptions& opts);

// "Date: <IMF-fixdate>\r\n" for `unix_seconds`.
std::string formatDateLine(long long unix_seconds);

}  // namespace detour
