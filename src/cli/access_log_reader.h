#pragma once

// Reads detour's own access log lines (json or combined, see docs/operations.md) back into the
// request they describe, for `detour diff --replay`. Pure; tolerant of lines it cannot read
// (they are counted, not fatal).

#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace detour {

struct LoggedRequest {
  std::string method;
  Scheme scheme = Scheme::kHttp;
  std::string host;    // the Host as logged (may carry a port)
  std::string listener_port;  // the port it arrived on; empty in lines older than the field
  std::string target;  // request-target as logged
  std::string user_agent;
  std::string referer;

  // A key for counting identical requests.
  std::string key() const;
};

// Parses one line in either format (json lines start with '{'). nullopt for lines that are not
// detour access log lines, or that have no request (a parse error logged without a head).
std::optional<LoggedRequest> parseAccessLogLine(std::string_view line);

}  // namespace detour
