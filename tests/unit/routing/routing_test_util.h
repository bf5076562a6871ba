#pragma once

// Builders for routing tests: Config objects in code (no YAML) and requests that own their
// bytes.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/config_errors.h"
#include "routing/request_view.h"
#include "routing/rule_table.h"
#include "routing/runtime_state.h"

namespace detour::testing {

// A request that owns its bytes; view() points into them (valid while this object lives and
// is not modified).
struct TestRequest {
  std::string method = "GET";
  Scheme scheme = Scheme::kHttp;
  std::string host = "example.com";
  std::string port;
  std::string path = "/";
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;

  RequestView view() const {
    header_views_.clear();
    for (const auto& [name, value] : headers) header_views_.push_back({name, value});
    RequestView v;
    v.method = method;
    v.scheme = scheme;
    v.host = host;
    v.port = port;
    v.path = path;
    v.query = query;
    v.headers = header_views_;
    return v;
  }

 private:
  mutable std::vector<HeaderView> header_views_;
};

// Parses "METHOD http(s)://host[:port]/path?query" (host may be empty: "GET http:///a").
inline TestRequest request(const std::string& line,
                           std::vector<std::pair<std::string, std::string>> headers = {}) {
  TestRequest r;
  size_t space = line.find(' ');
  r.method = line.substr(0, space);
  std::string url = line.substr(space + 1);
  r.scheme = url.rfind("https://", 0) == 0 ? Scheme::kHttps : Scheme::kHttp;
  std::string rest = url.substr(url.find("//") + 2);
  size_t slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = authority.find(':');
  r.host = authority.substr(0, colon);
  r.port = colon == std::string::npos ? "" : authority.substr(colon + 1);
  size_t q = target.find('?');
  r.path = target.substr(0, q);
  r.query = q == std::string::npos ? "" : target.substr(q);
  r.headers = std::move(headers);
  return r;
}

inline RuleConfig redirectRule(std::string name, std::string to, int code = 307) {
  RuleConfig r;
  r.name = std::move(name);
  RedirectAction a;
  a.to = std::move(to);
  a.code = code;
  r.action = a;
  return r;
}

inline RuleConfig forwardRule(std::string name, std::string pool = "app") {
  RuleConfig r;
  r.name = std::move(name);
  ForwardAction a;
  a.pool = std::move(pool);
  r.action = a;
  return r;
}

inline RuleConfig respondRule(std::string name, int status = 200, std::string body = "") {
  RuleConfig r;
  r.name = std::move(name);
  RespondAction a;
  a.status = status;
  a.body = std::move(body);
  r.action = a;
  return r;
}

// The rule's match block, created when absent.
inline MatchConfig& matchOf(RuleConfig& r) {
  if (!r.match) r.match.emplace();
  return *r.match;
}

inline RedirectAction& redirectOf(RuleConfig& r) { return std::get<RedirectAction>(r.action); }

inline HeaderMatchConfig headerExact(std::string name, std::string value) {
  HeaderMatchConfig h;
  h.name = std::move(name);
  h.value = std::move(value);
  return h;
}

inline HeaderMatchConfig headerRegex(std::string name, std::string regex) {
  HeaderMatchConfig h;
  h.name = std::move(name);
  h.regex = std::move(regex);
  h.is_regex = true;
  return h;
}

// A Config with pools "app" and "orders", flag "maint" (default false) and `rules`. Each rule
// gets positions on its own lines: rule i at line 100 * (i + 1), its keys below it.
inline Config makeConfig(std::vector<RuleConfig> rules) {
  Config c;
  c.file = "test.yaml";
  for (const char* name : {"app", "orders"}) {
    PoolConfig p;
    p.name = name;
    c.pools.push_back(p);
  }
  FlagConfig flag;
  flag.name = "maint";
  c.flags.push_back(flag);
  for (size_t i = 0; i < rules.size(); ++i) {
    RuleConfig& r = rules[i];
    int line = static_cast<int>(100 * (i + 1));
    if (r.pos.line == 0) r.pos = {line, 5};
    if (r.match && r.match->pos.line == 0) r.match->pos = {line + 1, 12};
    if (r.active.from && r.active.from_pos.line == 0) r.active.from_pos = {line + 2, 20};
    if (r.active.until && r.active.until_pos.line == 0) r.active.until_pos = {line + 2, 40};
    if (auto* a = std::get_if<RedirectAction>(&r.action)) {
      if (a->to_pos.line == 0) a->to_pos = {line + 3, 17};
      if (a->code_pos.line == 0) a->code_pos = {line + 4, 19};
    }
  }
  c.rules = std::move(rules);
  return c;
}

// 2026-11-27T00:00:00Z and 2026-11-30T00:00:00Z in Unix milliseconds.
constexpr EpochMillis kBlackFridayFrom = 1'795'737'600'000;
constexpr EpochMillis kBlackFridayUntil = 1'795'996'800'000;

// The example config of contract §3, rule for rule, with the lines of the contract's listing.
inline Config contractExampleConfig() {
  std::vector<RuleConfig> rules;
  RuleConfig https_upgrade = redirectRule("https-upgrade", "https://{host}{uri}");
  matchOf(https_upgrade).scheme = Scheme::kHttp;
  https_upgrade.pos = {1, 5};
  RuleConfig v1_moved = redirectRule("orders-v1-moved", "/api/v2/orders", 307);
  matchOf(v1_moved).path = "/api/v1/orders";
  matchOf(v1_moved).methods = {"POST", "PUT", "DELETE"};
  v1_moved.pos = {4, 5};
  RuleConfig v1_prefix = redirectRule("api-v1-prefix", "/api/v2/{path_suffix}");
  matchOf(v1_prefix).path_prefix = "/api/v1/";
  v1_prefix.pos = {7, 5};
  RuleConfig maintenance = redirectRule("payments-maintenance", "https://backup.example.com{uri}");
  matchOf(maintenance).path_prefix = "/api/payments";
  maintenance.when = {WhenConfig::Kind::kFlag, "payments_maintenance", {}};
  redirectOf(maintenance).retry_after = 120;
  maintenance.pos = {10, 5};
  RuleConfig failover = redirectRule("orders-failover", "https://backup.example.com{uri}");
  matchOf(failover).path_prefix = "/api/v2/orders";
  failover.when = {WhenConfig::Kind::kPoolDown, "orders", {}};
  failover.pos = {14, 5};
  RuleConfig black_friday = redirectRule("black-friday-checkout", "https://pay.example.net{uri}");
  matchOf(black_friday).path_prefix = "/checkout";
  black_friday.active.from = kBlackFridayFrom;
  black_friday.active.until = kBlackFridayUntil;
  black_friday.pos = {18, 5};
  RuleConfig status = respondRule("status", 200, "ok\n");
  matchOf(status).path = "/status";
  std::get<RespondAction>(status.action).headers = {{"Content-Type", "text/plain"}};
  status.pos = {22, 5};
  RuleConfig app = forwardRule("app", "orders");
  app.pos = {25, 5};
  Config c = makeConfig(
      {https_upgrade, v1_moved, v1_prefix, maintenance, failover, black_friday, status, app});
  FlagConfig flag;
  flag.name = "payments_maintenance";
  c.flags = {flag};
  // The names the example site serves: https-upgrade's {host} is checked against them.
  c.server.hosts = {"shop.example.com"};
  return c;
}

// Names parameterized cases after their `name` field.
struct CaseName {
  template <typename T>
  std::string operator()(const ::testing::TestParamInfo<T>& param) const {
    return param.param.name;
  }
};

// Compiles `config`, failing the test on any diagnostic.
inline std::shared_ptr<const RuleTable> compileOk(const Config& config, RuntimeState& state) {
  Diagnostics diags;
  auto table = RuleTable::compile(config, state, diags);
  EXPECT_TRUE(table != nullptr) << diags.formatAll();
  EXPECT_TRUE(diags.all().empty()) << diags.formatAll();
  return table;
}

// The matched rule's name (both by the index and by the linear scan, which must agree), or
// "" when none matched.
inline std::string matchName(const RuleTable& table, const TestRequest& req, EpochMillis now = 0,
                             MatchCaptures* caps_out = nullptr) {
  MatchCaptures caps;
  MatchCaptures linear_caps;
  MatchContext ctx{now};
  RequestView view = req.view();
  const CompiledRule* indexed = table.match(view, ctx, caps);
  const CompiledRule* linear = table.matchLinearForTest(view, ctx, linear_caps);
  EXPECT_EQ(indexed, linear) << "index and linear scan disagree on " << req.method << " "
                             << req.host << req.path << req.query;
  if (caps_out != nullptr) *caps_out = caps;
  return indexed == nullptr ? "" : indexed->name();
}

}  // namespace detour::testing
