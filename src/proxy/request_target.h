#pragma once

// Turns a parsed request head into what the rule engine sees (RequestView parts): target form,
// path and query, host and port. Pure functions; no I/O.

#include <string>
#include <string_view>

#include "http/message.h"
#include "routing/request_view.h"

namespace detour {

struct TargetParts {
  std::string_view path;   // starts with '/' (or "*" for asterisk-form)
  std::string_view query;  // "?..." or empty; the fragment, if any, is dropped
  std::string_view authority;  // absolute-form only: host[:port] from the target
  std::string_view scheme;     // absolute-form only: "http" or "https" (lower-case as sent)
  bool asterisk = false;
};

// Splits a request-target (RFC 9112 §3.2). Returns false when it is none of origin-form,
// absolute-form (http/https only) or asterisk-form; authority-form (CONNECT) is not accepted.
bool splitTarget(std::string_view target, TargetParts& out);

// Splits a Host value into a lower-cased host (appended to `host_out`, without brackets' loss:
// IPv6 literals keep their brackets) and a port. Returns false when the value is not a valid
// uri-host[:port] (RFC 3986 reg-name / IPv4 / IP-literal; port digits only, <= 65535).
bool splitHost(std::string_view value, std::string& host_out, std::string_view& port_out);

}  // namespace detour
