// Table-driven match tests: every match key, when, active and first-match order. Each case
// also checks that the index and the linear scan agree.

#include <gtest/gtest.h>

#include "routing_test_util.h"

namespace detour::testing {
namespace {

// One table that exercises every match key; the catch-all at the end names the "no other
// rule" outcome.
Config keysConfig() {
  std::vector<RuleConfig> rules;
  auto add = [&](RuleConfig r) -> RuleConfig& { return rules.emplace_back(std::move(r)); };

  matchOf(add(respondRule("exact-status"))).path = "/status";
  auto& host_exact = matchOf(add(forwardRule("host-exact")));
  host_exact.hosts = {"shop.example.com"};
  host_exact.path_prefix = "/shop/";
  matchOf(add(forwardRule("host-wild"))).hosts = {"*.example.org"};
  auto& host_list = matchOf(add(forwardRule("host-list")));
  host_list.hosts = {"a.test", "*.b.test"};
  host_list.path = "/multi";
  auto& https_only = matchOf(add(forwardRule("https-only")));
  https_only.scheme = Scheme::kHttps;
  https_only.path = "/secure";
  matchOf(add(forwardRule("prefix-api"))).path_prefix = "/api/";
  matchOf(add(forwardRule("regex-item"))).path_regex = "/items/([0-9]+)";
  auto& methods = matchOf(add(forwardRule("methods")));
  methods.path = "/form";
  methods.methods = {"POST", "PUT"};
  auto& header_exact = matchOf(add(forwardRule("header-exact")));
  header_exact.path = "/hdr";
  header_exact.headers = {headerExact("X-Env", "prod")};
  auto& header_regex = matchOf(add(forwardRule("header-regex")));
  header_regex.path = "/hdr";
  header_regex.headers = {headerRegex("x-env", "stag.*")};
  matchOf(add(forwardRule("trailing-slash"))).path = "/dir/";
  matchOf(add(forwardRule("mixed-case-host"))).hosts = {"Mixed.Example.NET"};
  matchOf(add(forwardRule("order-prefix"))).path_prefix = "/ord/";
  matchOf(add(forwardRule("order-exact-shadowed"))).path = "/ord/x";
  matchOf(add(forwardRule("order-exact-first"))).path = "/o2/x";
  matchOf(add(forwardRule("order-prefix-second"))).path_prefix = "/o2/";
  auto& regex_host = matchOf(add(forwardRule("regex-and-host")));
  regex_host.hosts = {"r.test"};
  regex_host.path_regex = "/r/[a-z]+";
  auto& all_keys = matchOf(add(forwardRule("all-keys")));
  all_keys.hosts = {"*.all.test"};
  all_keys.scheme = Scheme::kHttps;
  all_keys.path_prefix = "/k/";
  all_keys.methods = {"DELETE"};
  all_keys.headers = {headerExact("X-A", "1"), headerRegex("X-B", "[0-9]+")};
  add(forwardRule("catch-all"));
  return makeConfig(std::move(rules));
}

struct MatchCase {
  std::string name;  // test name suffix
  TestRequest req;
  std::string expected;
};

std::ostream& operator<<(std::ostream& os, const MatchCase& c) { return os << c.name; }

std::vector<MatchCase> keyCases() {
  using H = std::vector<std::pair<std::string, std::string>>;
  return {
      {"ExactPath", request("GET http://example.com/status"), "exact-status"},
      {"ExactPathIgnoresQuery", request("GET http://example.com/status?x=1"), "exact-status"},
      {"ExactPathTrailingSlashDiffers", request("GET http://example.com/status/"), "catch-all"},
      {"ExactPathLongerDiffers", request("GET http://example.com/statusx"), "catch-all"},
      {"ExactPathEmptyQuery", request("GET http://example.com/status?"), "exact-status"},
      {"HostExact", request("GET http://shop.example.com/shop/cart"), "host-exact"},
      {"HostUpperCaseRequest", request("GET http://SHOP.Example.COM/shop/cart"), "host-exact"},
      {"HostOther", request("GET http://other.com/shop/cart"), "catch-all"},
      {"HostEmptyMatchesNoHostCondition", request("GET http:///shop/cart"), "catch-all"},
      {"HostPortIgnored", request("GET http://shop.example.com:8080/shop/"), "host-exact"},
      {"WildcardOneLabel", request("GET http://a.example.org/"), "host-wild"},
      {"WildcardTwoLabels", request("GET http://a.b.example.org/x"), "host-wild"},
      {"WildcardNotApex", request("GET http://example.org/"), "catch-all"},
      {"WildcardNotSuffixOfLabel", request("GET http://xexample.org/"), "catch-all"},
      {"WildcardUpperCase", request("GET http://A.EXAMPLE.ORG/"), "host-wild"},
      {"HostListExact", request("GET http://a.test/multi"), "host-list"},
      {"HostListWildcard", request("GET http://z.b.test/multi"), "host-list"},
      {"HostListWildcardNotApex", request("GET http://b.test/multi"), "catch-all"},
      {"SchemeHttps", request("GET https://example.com/secure"), "https-only"},
      {"SchemeHttp", request("GET http://example.com/secure"), "catch-all"},
      {"PrefixExact", request("GET http://example.com/api/"), "prefix-api"},
      {"PrefixLonger", request("GET http://example.com/api/v1/x?y=2"), "prefix-api"},
      {"PrefixWithoutSlash", request("GET http://example.com/api"), "catch-all"},
      {"RegexFull", request("GET http://example.com/items/42"), "regex-item"},
      {"RegexAnchoredEnd", request("GET http://example.com/items/42/"), "catch-all"},
      {"RegexAnchoredStart", request("GET http://example.com/x/items/42"), "catch-all"},
      {"RegexNeedsDigit", request("GET http://example.com/items/"), "catch-all"},
      {"RegexIgnoresQuery", request("GET http://example.com/items/7?q=a"), "regex-item"},
      {"MethodListed", request("POST http://example.com/form"), "methods"},
      {"MethodListedSecond", request("PUT http://example.com/form"), "methods"},
      {"MethodNotListed", request("GET http://example.com/form"), "catch-all"},
      {"MethodCaseSensitive", request("post http://example.com/form"), "catch-all"},
      {"HeaderExact", request("GET http://example.com/hdr", H{{"X-Env", "prod"}}), "header-exact"},
      {"HeaderNameCaseInsensitive", request("GET http://example.com/hdr", H{{"x-ENV", "prod"}}),
       "header-exact"},
      {"HeaderValueCaseSensitive", request("GET http://example.com/hdr", H{{"X-Env", "Prod"}}),
       "catch-all"},
      {"HeaderValueTrimmed", request("GET http://example.com/hdr", H{{"X-Env", " prod\t"}}),
       "header-exact"},
      {"HeaderRegex", request("GET http://example.com/hdr", H{{"X-Env", "staging"}}),
       "header-regex"},
      {"HeaderRegexAnchored", request("GET http://example.com/hdr", H{{"X-Env", "prestag"}}),
       "catch-all"},
      {"HeaderMultipleValuesAnyMatches",
       request("GET http://example.com/hdr", H{{"X-Env", "dev"}, {"X-Env", "prod"}}),
       "header-exact"},
      {"HeaderMissing", request("GET http://example.com/hdr"), "catch-all"},
      {"HeaderOtherName", request("GET http://example.com/hdr", H{{"X-Envy", "prod"}}),
       "catch-all"},
      {"TrailingSlashRule", request("GET http://example.com/dir/"), "trailing-slash"},
      {"TrailingSlashRuleWithout", request("GET http://example.com/dir"), "catch-all"},
      {"ConfigHostMixedCase", request("GET http://mixed.example.net/"), "mixed-case-host"},
      {"FirstMatchPrefixBeforeExact", request("GET http://example.com/ord/x"), "order-prefix"},
      {"FirstMatchExactBeforePrefix", request("GET http://example.com/o2/x"), "order-exact-first"},
      {"FirstMatchPrefixAfterExact", request("GET http://example.com/o2/y"), "order-prefix-second"},
      {"RegexWithHost", request("GET http://r.test/r/abc"), "regex-and-host"},
      {"RegexWithOtherHost", request("GET http://q.test/r/abc"), "catch-all"},
      {"AllKeys", request("DELETE https://x.all.test/k/1", H{{"X-A", "1"}, {"X-B", "22"}}),
       "all-keys"},
      {"AllKeysWrongMethod", request("GET https://x.all.test/k/1", H{{"X-A", "1"}, {"X-B", "22"}}),
       "catch-all"},
      {"AllKeysWrongScheme",
       request("DELETE http://x.all.test/k/1", H{{"X-A", "1"}, {"X-B", "22"}}), "catch-all"},
      {"AllKeysOneHeaderFails",
       request("DELETE https://x.all.test/k/1", H{{"X-A", "1"}, {"X-B", "b"}}), "catch-all"},
      {"AbsentKeysMatchAnything", request("OPTIONS https://anything.example/any?thing"),
       "catch-all"},
  };
}

class RuleMatchKeysTest : public ::testing::TestWithParam<MatchCase> {
 protected:
  static void SetUpTestSuite() {
    state_ = new RuntimeState();
    table_ = compileOk(keysConfig(), *state_);
  }
  static void TearDownTestSuite() {
    table_.reset();
    delete state_;
  }
  static RuntimeState* state_;
  static std::shared_ptr<const RuleTable> table_;
};
RuntimeState* RuleMatchKeysTest::state_ = nullptr;
std::shared_ptr<const RuleTable> RuleMatchKeysTest::table_;

TEST_P(RuleMatchKeysTest, MatchesExpectedRule) {
  ASSERT_TRUE(table_);
  EXPECT_EQ(matchName(*table_, GetParam().req), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Keys, RuleMatchKeysTest, ::testing::ValuesIn(keyCases()), CaseName());

// --- when: flag, !flag, pool_down, read live from the runtime cells.

struct WhenCase {
  std::string name;
  bool maint;
  bool orders_down;
  std::string path;
  std::string expected;
};
std::ostream& operator<<(std::ostream& os, const WhenCase& c) { return os << c.name; }

class RuleMatchWhenTest : public ::testing::TestWithParam<WhenCase> {};

Config whenConfig() {
  std::vector<RuleConfig> rules;
  RuleConfig on = redirectRule("maint-on", "https://backup.example.com{uri}");
  matchOf(on).path_prefix = "/pay";
  on.when = {WhenConfig::Kind::kFlag, "maint", {}};
  RuleConfig off = forwardRule("maint-off");
  matchOf(off).path_prefix = "/pay";
  off.when = {WhenConfig::Kind::kNotFlag, "maint", {}};
  RuleConfig down = redirectRule("orders-down", "https://backup.example.com{uri}");
  matchOf(down).path_prefix = "/orders";
  down.when = {WhenConfig::Kind::kPoolDown, "orders", {}};
  rules = {on, off, down, forwardRule("app")};
  return makeConfig(std::move(rules));
}

TEST_P(RuleMatchWhenTest, ReadsCellsAtMatchTime) {
  const WhenCase& c = GetParam();
  RuntimeState state;
  auto table = compileOk(whenConfig(), state);
  ASSERT_TRUE(table);
  state.findFlag("maint")->value.store(c.maint);
  state.findPool("orders")->down.store(c.orders_down);
  EXPECT_EQ(matchName(*table, request("GET http://example.com" + c.path)), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    When, RuleMatchWhenTest,
    ::testing::Values(WhenCase{"FlagOn", true, false, "/pay/1", "maint-on"},
                      WhenCase{"FlagOff", false, false, "/pay/1", "maint-off"},
                      WhenCase{"PoolDown", false, true, "/orders/7", "orders-down"},
                      WhenCase{"PoolUp", false, false, "/orders/7", "app"},
                      WhenCase{"PoolDownOtherPath", true, true, "/other", "app"}),
    CaseName());

TEST(RuleMatchWhen, FlippingCellsChangesTheAnswerWithoutRecompiling) {
  RuntimeState state;
  auto table = compileOk(whenConfig(), state);
  ASSERT_TRUE(table);
  TestRequest req = request("GET http://example.com/pay/x");
  EXPECT_EQ(matchName(*table, req), "maint-off");
  state.findFlag("maint")->value.store(true);
  EXPECT_EQ(matchName(*table, req), "maint-on");
  state.findFlag("maint")->value.store(false);
  EXPECT_EQ(matchName(*table, req), "maint-off");
}

TEST(RuleMatchWhen, FlagStartsFromConfigDefault) {
  Config config = whenConfig();
  config.flags[0].default_value = true;
  RuntimeState state;
  auto table = compileOk(config, state);
  ASSERT_TRUE(table);
  EXPECT_EQ(matchName(*table, request("GET http://example.com/pay/x")), "maint-on");
}

TEST(RuleMatchWhen, OverriddenFlagKeepsItsValueAcrossRecompile) {
  RuntimeState state;
  auto first = compileOk(whenConfig(), state);
  FlagCell* cell = state.findFlag("maint");
  cell->value.store(true);
  cell->overridden.store(true);
  auto second = compileOk(whenConfig(), state);
  ASSERT_TRUE(second);
  EXPECT_EQ(matchName(*second, request("GET http://example.com/pay/x")), "maint-on");
}

// A reload compiles before it knows whether it will be served (its listeners may fail to
// open): compiling changes no live flag; applying the committed defaults does.
TEST(RuleMatchWhen, RecompileChangesNoFlagUntilTheDefaultsAreApplied) {
  RuntimeState state;
  auto first = compileOk(whenConfig(), state);
  Config on = whenConfig();
  on.flags[0].default_value = true;
  auto second = compileOk(on, state);
  ASSERT_TRUE(second);
  EXPECT_FALSE(state.findFlag("maint")->value.load());
  EXPECT_NE(matchName(*first, request("GET http://example.com/pay/x")), "maint-on");
  state.applyFlagDefault("maint", true);
  EXPECT_EQ(matchName(*second, request("GET http://example.com/pay/x")), "maint-on");
  // An admin override wins over a later default.
  state.findFlag("maint")->overridden.store(true);
  state.applyFlagDefault("maint", false);
  EXPECT_TRUE(state.findFlag("maint")->value.load());
}

// --- active: from <= now < until.

struct ActiveCase {
  std::string name;
  std::optional<EpochMillis> from;
  std::optional<EpochMillis> until;
  EpochMillis now;
  bool active;
};
std::ostream& operator<<(std::ostream& os, const ActiveCase& c) { return os << c.name; }

class RuleMatchActiveTest : public ::testing::TestWithParam<ActiveCase> {};

TEST_P(RuleMatchActiveTest, WindowBounds) {
  const ActiveCase& c = GetParam();
  RuleConfig timed = redirectRule("timed", "https://pay.example.net{uri}");
  matchOf(timed).path_prefix = "/checkout";
  timed.active.from = c.from;
  timed.active.until = c.until;
  RuntimeState state;
  auto table = compileOk(makeConfig({timed, forwardRule("app")}), state);
  ASSERT_TRUE(table);
  EXPECT_EQ(matchName(*table, request("GET http://example.com/checkout"), c.now),
            c.active ? "timed" : "app");
}

INSTANTIATE_TEST_SUITE_P(
    Active, RuleMatchActiveTest,
    ::testing::Values(ActiveCase{"BeforeFrom", 1000, 2000, 999, false},
                      ActiveCase{"AtFrom", 1000, 2000, 1000, true},
                      ActiveCase{"Inside", 1000, 2000, 1500, true},
                      ActiveCase{"JustBeforeUntil", 1000, 2000, 1999, true},
                      ActiveCase{"AtUntil", 1000, 2000, 2000, false},
                      ActiveCase{"OnlyFromAfter", 1000, std::nullopt, 1'000'000'000, true},
                      ActiveCase{"OnlyFromBefore", 1000, std::nullopt, 0, false},
                      ActiveCase{"OnlyUntilBefore", std::nullopt, 2000, -5, true},
                      ActiveCase{"OnlyUntilAfter", std::nullopt, 2000, 2001, false}),
    CaseName());

// --- captures

TEST(RuleMatchCaptures, NumberedAndNamedGroups) {
  RuleConfig r = redirectRule("users", "/people/{user}/{2}");
  matchOf(r).path_regex = "/u/(?P<user>[a-z]+)/([0-9]+)(/.*)?";
  RuntimeState state;
  auto table = compileOk(makeConfig({r}), state);
  ASSERT_TRUE(table);
  MatchCaptures caps;  // views into req
  TestRequest req = request("GET http://example.com/u/ann/42/x");
  ASSERT_EQ(matchName(*table, req, 0, &caps), "users");
  // Only the groups the template needs are extracted: 0..2, not group 3.
  EXPECT_EQ(caps.group_count, 3);
  EXPECT_EQ(caps.groups[0], "/u/ann/42/x");
  EXPECT_EQ(caps.groups[1], "ann");
  EXPECT_EQ(caps.groups[2], "42");
  EXPECT_EQ(caps.groups[3], "");
}

TEST(RuleMatchCaptures, NoTemplateGroupsExtractsNone) {
  RuleConfig r = forwardRule("items");
  matchOf(r).path_regex = "/items/([0-9]+)";
  RuntimeState state;
  auto table = compileOk(makeConfig({r}), state);
  MatchCaptures caps;
  ASSERT_EQ(matchName(*table, request("GET http://example.com/items/9"), 0, &caps), "items");
  EXPECT_EQ(caps.group_count, 0);
}

TEST(RuleMatchCaptures, PathSuffixIsTheRestAfterThePrefix) {
  RuleConfig r = redirectRule("v1", "/api/v2/{path_suffix}");
  matchOf(r).path_prefix = "/api/v1/";
  RuntimeState state;
  auto table = compileOk(makeConfig({r}), state);
  MatchCaptures caps;  // views into the request
  TestRequest orders = request("GET http://example.com/api/v1/orders/7?a=1");
  ASSERT_EQ(matchName(*table, orders, 0, &caps), "v1");
  EXPECT_EQ(caps.path_suffix, "orders/7");
  TestRequest bare = request("GET http://example.com/api/v1/");
  ASSERT_EQ(matchName(*table, bare, 0, &caps), "v1");
  EXPECT_EQ(caps.path_suffix, "");
}

// --- the contract's example config, end to end: rule, status and Location.

struct Outcome {
  std::string rule;
  int code = 0;
  std::string location;
};

Outcome decide(const RuleTable& table, const TestRequest& req, EpochMillis now = 0) {
  MatchCaptures caps;
  RequestView view = req.view();
  const CompiledRule* rule = table.match(view, MatchContext{now}, caps);
  if (rule == nullptr) return {};
  Outcome out{rule->name(), 0, ""};
  if (const CompiledRedirect* r = rule->redirect()) {
    out.code = r->code;
    rule->buildLocation(view, caps, out.location);
  }
  return out;
}

TEST(RuleMatchContractExample, Outcomes) {
  RuntimeState state;
  auto table = compileOk(contractExampleConfig(), state);
  ASSERT_TRUE(table);
  auto expect = [&](const std::string& line, const std::string& rule, const std::string& loc,
                    EpochMillis now = 0) {
    Outcome o = decide(*table, request(line), now);
    EXPECT_EQ(o.rule, rule) << line;
    EXPECT_EQ(o.location, loc) << line;
  };
  expect("GET http://shop.example.com/a/b?x=1", "https-upgrade",
         "https://shop.example.com/a/b?x=1");
  expect("POST https://shop.example.com/api/v1/orders", "orders-v1-moved", "/api/v2/orders");
  expect("POST https://shop.example.com/api/v1/orders?dry=1", "orders-v1-moved",
         "/api/v2/orders?dry=1");
  expect("GET https://shop.example.com/api/v1/orders", "api-v1-prefix", "/api/v2/orders");
  expect("GET https://shop.example.com/api/v1/users/7?x=1", "api-v1-prefix", "/api/v2/users/7?x=1");
  expect("GET https://shop.example.com/api/payments/1", "app", "");
  expect("GET https://shop.example.com/api/v2/orders/7", "app", "");
  expect("GET https://shop.example.com/checkout", "app", "", kBlackFridayFrom - 1);
  expect("GET https://shop.example.com/checkout", "black-friday-checkout",
         "https://pay.example.net/checkout", kBlackFridayFrom);
  expect("GET https://shop.example.com/status", "status", "");

  state.findFlag("payments_maintenance")->value.store(true);
  expect("GET https://shop.example.com/api/payments/1", "payments-maintenance",
         "https://backup.example.com/api/payments/1");
  state.findPool("orders")->down.store(true);
  expect("GET https://shop.example.com/api/v2/orders/7", "orders-failover",
         "https://backup.example.com/api/v2/orders/7");

  const CompiledRule* maintenance = table->findRule("payments-maintenance");
  ASSERT_NE(maintenance, nullptr);
  EXPECT_EQ(maintenance->redirect()->extra_headers,
            "Cache-Control: no-cache\r\nRetry-After: 120\r\n");
  EXPECT_EQ(table->findRule("status")->respond()->extra_headers, "Content-Type: text/plain\r\n");
}

TEST(RuleMatch, EmptyTableMatchesNothing) {
  RuntimeState state;
  auto table = compileOk(makeConfig({}), state);
  ASSERT_TRUE(table);
  EXPECT_EQ(table->size(), 0u);
  EXPECT_EQ(matchName(*table, request("GET http://example.com/")), "");
}

TEST(RuleMatch, NoRuleMatchesReturnsNull) {
  RuleConfig r = forwardRule("only");
  matchOf(r).path = "/only";
  RuntimeState state;
  auto table = compileOk(makeConfig({r}), state);
  EXPECT_EQ(matchName(*table, request("GET http://example.com/other")), "");
}

TEST(RuleMatch, FindRuleAndAccessors) {
  RuntimeState state;
  auto table = compileOk(keysConfig(), state);
  ASSERT_TRUE(table);
  const CompiledRule* rule = table->findRule("prefix-api");
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->name(), "prefix-api");
  EXPECT_EQ(&table->rule(rule->id()), rule);
  EXPECT_EQ(rule->kind(), ActionKind::kForward);
  ASSERT_NE(rule->forward(), nullptr);
  EXPECT_EQ(rule->forward()->pool, "app");
  EXPECT_EQ(rule->redirect(), nullptr);
  EXPECT_EQ(rule->respond(), nullptr);
  EXPECT_EQ(table->findRule("nope"), nullptr);
  EXPECT_EQ(table->config().rules.size(), table->size());
}

TEST(RuleMatch, TableOutlivesTheConfigItWasBuiltFrom) {
  RuntimeState state;
  std::shared_ptr<const RuleTable> table;
  {
    Config config = keysConfig();
    table = compileOk(config, state);
  }
  ASSERT_TRUE(table);
  EXPECT_EQ(matchName(*table, request("GET http://example.com/items/3")), "regex-item");
}

}  // namespace
}  // namespace detour::testing
