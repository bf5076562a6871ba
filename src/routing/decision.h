#pragma once

// What detour would answer for a request, decided from the rule table alone (no traffic):
// used by `detour explain`, `detour test` and `detour diff`. The live server reaches the same
// answers through the same RuleTable::match and CompiledRule::buildLocation.

#include <string>

#include "routing/rule_table.h"

namespace detour {

struct Decision {
  const CompiledRule* rule = nullptr;  // null: no rule matched
  ActionKind kind = ActionKind::kRespond;
  int status = 404;       // 0 for a forward (the backend answers)
  std::string location;   // redirects only
  std::string pool;       // forwards only
};

// Pure; thread-safe.
Decision decide(const RuleTable& table, const RequestView& req, const MatchContext& ctx);

// A request given as an absolute URL ("https://shop.example.com/a?b=1"), for the tools.
struct ParsedUrl {
  Scheme scheme = Scheme::kHttp;
  std::string host;  // lower-cased, without port
  std::string port;  // explicit port or the scheme's default
  std::string path;
  std::string query;  // with '?', or empty
};
// Returns false when `url` is not an absolute http(s) URL.
bool parseAbsoluteUrl(const std::string& url, ParsedUrl& out);

}  // namespace detour
