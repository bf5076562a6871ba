#pragma once

// What the rule engine sees of a request: views into bytes the caller owns for the duration of
// the call. Pure data; no I/O.

#include <cstdint>
#include <span>
#include <string_view>

#include "config/config.h"

namespace detour {

struct HeaderView {
  std::string_view name;   // as received (any case)
  std::string_view value;  // trimmed of optional whitespace
};

struct RequestView {
  std::string_view method;  // e.g. "POST" (HTTP methods are case-sensitive)
  Scheme scheme = Scheme::kHttp;
  std::string_view host;    // lower-cased, without port; empty when the request had none
  std::string_view port;    // from the Host header, else the listener's port; digits or empty
  std::string_view path;    // raw (percent-encoded as received), starts with '/'; no query
  std::string_view query;   // "?a=1" including the '?', or empty
  std::span<const HeaderView> headers;
};

// Time and runtime switches for when:/active: conditions.
struct MatchContext {
  EpochMillis now = 0;
};

}  // namespace detour
