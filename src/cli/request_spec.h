#pragma once

// A request described on the command line or in a cases file ("POST https://h/p?q" plus
// headers), turned into the RequestView the rule table matches. Used by explain and test.

#include <string>
#include <utility>
#include <vector>

#include "routing/decision.h"
#include "routing/request_view.h"
#include "routing/runtime_state.h"

namespace detour {

struct RequestSpec {
  std::string method;
  ParsedUrl url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<HeaderView> header_views;  // views into `headers`; filled by view()

  // Parses "METHOD URL"; returns an error message or empty.
  std::string parseLine(const std::string& line);
  // Parses an absolute URL; returns an error message or empty.
  std::string setUrl(const std::string& url);
  // Parses "Name: value"; returns an error message or empty.
  std::string addHeader(const std::string& header);
  // The view of this request; valid while *this lives and is not modified.
  RequestView view();
};

// Text for `detour explain` and failure messages: "rule 'x' -> 307 /api/v2/orders".
std::string describeDecision(const Decision& d);

// What the live server answers itself for a forward to a pool with no healthy backend
// (proxy/downstream_connection.cc): 503 with this Retry-After, in seconds. The explain test
// against the live server (tests/integration/cli_integration_test.cc) pins both.
inline constexpr int kPoolDownStatus = 503;
inline constexpr int kPoolDownRetryAfter = 5;

// When `d` forwards to a pool that `state` has down (--pool-down, a case's pools_down), the
// live server does not forward: sets d.status to kPoolDownStatus and returns true.
bool applyPoolDown(Decision& d, RuntimeState& state);

}  // namespace detour
