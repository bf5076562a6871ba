// lintRules(): the four warnings of contract §3, their positions and messages, and the
// contract's own example config, which must lint clean.

#include <gtest/gtest.h>

#include "routing_test_util.h"

namespace detour::testing {
namespace {

constexpr EpochMillis kNow = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

Diagnostics lint(std::vector<RuleConfig> rules, EpochMillis now = kNow) {
  RuntimeState state;
  Diagnostics diags;
  auto table = compileOk(makeConfig(std::move(rules)), state);
  if (table) lintRules(*table, now, diags);
  for (const Diagnostic& d : diags.all()) EXPECT_EQ(d.severity, Severity::kWarning);
  return diags;
}

RuleConfig onPrefix(RuleConfig r, std::string prefix) {
  matchOf(r).path_prefix = std::move(prefix);
  return r;
}

RuleConfig onPath(RuleConfig r, std::string path) {
  matchOf(r).path = std::move(path);
  return r;
}

// --- 1. 301/302 that can match a body-carrying method

TEST(LintBodyDroppingRedirect, Warns302WithoutMethods) {
  Diagnostics d = lint({onPath(redirectRule("old", "/new", 302), "/old")});
  ASSERT_EQ(d.all().size(), 1u) << d.formatAll();
  EXPECT_EQ(d.all()[0].message,
            "rule 'old': a 302 redirect lets clients turn POST, PUT, PATCH and DELETE into GET "
            "and drop the body; use 307 (or 308), or restrict methods to GET and HEAD");
  EXPECT_EQ(d.all()[0].pos.line, 104);  // code_pos
  EXPECT_EQ(d.all()[0].pos.col, 19);
}

TEST(LintBodyDroppingRedirect, Warns301WithABodyMethodAndSuggests308) {
  RuleConfig r = onPath(redirectRule("old", "/new", 301), "/old");
  matchOf(r).methods = {"GET", "PATCH"};
  Diagnostics d = lint({r});
  ASSERT_EQ(d.all().size(), 1u) << d.formatAll();
  EXPECT_NE(d.all()[0].message.find("a 301 redirect"), std::string::npos);
  EXPECT_NE(d.all()[0].message.find("use 308 (or 307)"), std::string::npos);
}

TEST(LintBodyDroppingRedirect, QuietForSafeMethodsAndFor303307308) {
  RuleConfig safe = redirectRule("safe", "/new", 301);
  matchOf(safe).methods = {"GET", "HEAD"};
  matchOf(safe).path = "/a";
  std::vector<RuleConfig> rules = {safe};
  for (int code : {303, 307, 308}) {
    rules.push_back(onPath(redirectRule("r" + std::to_string(code), "/new", code),
                           "/p" + std::to_string(code)));
  }
  EXPECT_TRUE(lint(rules).all().empty()) << lint(rules).formatAll();
}

// --- 2. shadowed rules

std::string shadowMessage(const std::string& later, const std::string& earlier, int line) {
  return "rule '" + later + "' is never reached: rule '" + earlier + "' (line " +
         std::to_string(line) + ") matches every request it matches; move '" + later + "' above '" +
         earlier + "' or remove it";
}

TEST(LintShadowed, PrefixShadowsLongerPathAndPrefix) {
  Diagnostics d =
      lint({onPrefix(forwardRule("api"), "/api/"), onPath(forwardRule("orders"), "/api/orders"),
            onPrefix(forwardRule("v2"), "/api/v2/"), onPath(forwardRule("x"), "/x")});
  ASSERT_EQ(d.all().size(), 2u) << d.formatAll();
  EXPECT_EQ(d.all()[0].message, shadowMessage("orders", "api", 100));
  EXPECT_EQ(d.all()[0].pos.line, 200);  // the later rule
  EXPECT_EQ(d.all()[1].message, shadowMessage("v2", "api", 100));
}

TEST(LintShadowed, NoMatchBlockShadowsEverythingAfter) {
  Diagnostics d = lint({forwardRule("all"), onPath(forwardRule("a"), "/a"), forwardRule("b")});
  ASSERT_EQ(d.all().size(), 2u) << d.formatAll();
  EXPECT_EQ(d.all()[0].message, shadowMessage("a", "all", 100));
  EXPECT_EQ(d.all()[1].message, shadowMessage("b", "all", 100));
}

TEST(LintShadowed, ReportsTheFirstShadowingRule) {
  Diagnostics d = lint({onPrefix(forwardRule("root"), "/"), onPrefix(forwardRule("a"), "/a"),
                        onPath(forwardRule("ab"), "/a/b")});
  ASSERT_EQ(d.all().size(), 2u) << d.formatAll();
  EXPECT_EQ(d.all()[1].message, shadowMessage("ab", "root", 100));
}

TEST(LintShadowed, WhenOrActiveOnTheEarlierRuleMeansNoShadow) {
  RuleConfig flagged = onPrefix(forwardRule("flagged"), "/a");
  flagged.when = {WhenConfig::Kind::kFlag, "maint", {}};
  RuleConfig timed = onPrefix(forwardRule("timed"), "/a");
  timed.active.until = kNow + 1000;
  EXPECT_TRUE(lint({flagged, timed, onPath(forwardRule("later"), "/a/b")}).all().empty());
}

TEST(LintShadowed, HostsMustCoverTheLaterRulesHosts) {
  RuleConfig wild = forwardRule("wild");
  matchOf(wild).hosts = {"*.example.com"};
  RuleConfig sub = onPath(forwardRule("sub"), "/x");
  matchOf(sub).hosts = {"a.example.com", "*.b.example.com"};
  RuleConfig apex = forwardRule("apex");
  matchOf(apex).hosts = {"example.com"};
  RuleConfig any_host = onPath(forwardRule("any-host"), "/y");
  Diagnostics d = lint({wild, sub, apex, any_host});
  ASSERT_EQ(d.all().size(), 1u) << d.formatAll();
  EXPECT_EQ(d.all()[0].message, shadowMessage("sub", "wild", 100));
}

TEST(LintShadowed, MethodsSchemeHeadersAndRegex) {
  RuleConfig get = onPath(forwardRule("get"), "/m");
  matchOf(get).methods = {"GET", "HEAD"};
  RuleConfig get_only = onPath(forwardRule("get-only"), "/m");
  matchOf(get_only).methods = {"GET"};
  RuleConfig any_method = onPath(forwardRule("any-method"), "/m");  // not implied: no methods

  RuleConfig hdr = onPath(forwardRule("hdr"), "/h");
  matchOf(hdr).headers = {headerExact("X-A", "1")};
  RuleConfig hdr_more = onPath(forwardRule("hdr-more"), "/h");
  matchOf(hdr_more).headers = {headerExact("x-a", "1"), headerExact("X-B", "2")};
  RuleConfig hdr_other = onPath(forwardRule("hdr-other"), "/h");
  matchOf(hdr_other).headers = {headerExact("X-A", "2")};

  RuleConfig https = onPath(forwardRule("https"), "/s");
  matchOf(https).scheme = Scheme::kHttps;
  RuleConfig http = onPath(forwardRule("http"), "/s");
  matchOf(http).scheme = Scheme::kHttp;

  RuleConfig re1 = forwardRule("re1");
  matchOf(re1).path_regex = "/r/[0-9]+";
  RuleConfig re2 = forwardRule("re2");
  matchOf(re2).path_regex = "/r/[0-9]+";
  matchOf(re2).methods = {"GET"};
  RuleConfig re3 = forwardRule("re3");
  matchOf(re3).path_regex = "/r/[0-9]*";

  Diagnostics d =
      lint({get, get_only, any_method, hdr, hdr_more, hdr_other, https, http, re1, re2, re3});
  // any-method (no methods), hdr-other (another value), http (another scheme) and re3
  // (another regex) are not implied by any earlier rule.
  ASSERT_EQ(d.all().size(), 3u) << d.formatAll();
  EXPECT_EQ(d.all()[0].message, shadowMessage("get-only", "get", 100));
  EXPECT_EQ(d.all()[1].message, shadowMessage("hdr-more", "hdr", 400));
  EXPECT_EQ(d.all()[2].message, shadowMessage("re2", "re1", 900));
}

// --- 3. expired rules

TEST(LintExpired, WarnsAtUntilWithTheTime) {
  RuleConfig r = onPrefix(redirectRule("sale", "https://pay.example.net{uri}"), "/sale");
  r.active.from = kBlackFridayFrom;
  r.active.until = kBlackFridayUntil;
  Diagnostics d = lint({r}, kBlackFridayUntil + 1);
  ASSERT_EQ(d.all().size(), 1u) << d.formatAll();
  EXPECT_EQ(d.all()[0].message,
            "rule 'sale' expired at 2026-11-30T00:00:00Z; remove it or move 'until'");
  EXPECT_EQ(d.all()[0].pos.line, 102);
  EXPECT_EQ(d.all()[0].pos.col, 40);
}

TEST(LintExpired, ShowsMillisecondsWhenSet) {
  RuleConfig r = onPrefix(forwardRule("x"), "/x");
  r.active.until = 1'500;
  Diagnostics d = lint({r}, 2'000);
  ASSERT_EQ(d.all().size(), 1u);
  EXPECT_EQ(d.all()[0].message,
            "rule 'x' expired at 1970-01-01T00:00:01.500Z; remove it or move 'until'");
}

TEST(LintExpired, QuietWhileUntilIsAhead) {
  RuleConfig r = onPrefix(forwardRule("x"), "/x");
  r.active.until = kNow + 1;
  EXPECT_TRUE(lint({r}).all().empty());
  r.active.until.reset();
  r.active.from = kNow - 1;
  EXPECT_TRUE(lint({r}).all().empty());
}

// --- 4. redirect loops

TEST(LintLoop, PrefixRedirectIntoItself) {
  Diagnostics d = lint({onPrefix(redirectRule("loop", "/old/new/{path_suffix}"), "/old/")});
  ASSERT_EQ(d.all().size(), 1u) << d.formatAll();
  EXPECT_EQ(d.all()[0].message,
            "rule 'loop' redirects to a URL it matches itself (a loop): GET "
            "http://example.com/old/x -> /old/new/x; change 'to' or narrow the rule's match");
  EXPECT_EQ(d.all()[0].pos.line, 103);  // to_pos
}

TEST(LintLoop, SameHostAbsoluteTarget) {
  RuleConfig r = redirectRule("self", "https://shop.example.com{path}");
  matchOf(r).hosts = {"shop.example.com"};
  Diagnostics d = lint({r});
  ASSERT_EQ(d.all().size(), 1u) << d.formatAll();
  EXPECT_NE(d.all()[0].message.find("GET http://shop.example.com/ -> https://shop.example.com/"),
            std::string::npos);
}

TEST(LintLoop, WildcardHostCoversTheTarget) {
  RuleConfig r = redirectRule("www", "https://www.example.com{uri}");
  matchOf(r).hosts = {"*.example.com"};
  EXPECT_EQ(lint({r}).all().size(), 1u);
}

TEST(LintLoop, RelativeTargetWithoutPathCondition) {
  EXPECT_EQ(lint({redirectRule("everything", "/landing")}).all().size(), 1u);
}

TEST(LintLoop, NoLoopCases) {
  RuleConfig upgrade = redirectRule("https-upgrade", "https://{host}{uri}");
  matchOf(upgrade).scheme = Scheme::kHttp;
  RuleConfig v1 = onPrefix(redirectRule("api-v1-prefix", "/api/v2/{path_suffix}"), "/api/v1/");
  RuleConfig elsewhere =
      onPrefix(redirectRule("elsewhere", "https://backup.example.com{uri}"), "/pay");
  RuleConfig see_other = onPath(redirectRule("see-other", "/form", 303), "/form");
  matchOf(see_other).methods = {"POST"};
  RuleConfig strip = onPath(redirectRule("strip-slash", "/docs"), "/docs/");
  RuleConfig regex = forwardRule("regex-only");
  Diagnostics d = lint({upgrade, v1, elsewhere, see_other, strip, regex});
  for (const auto& diag : d.all()) {
    EXPECT_EQ(diag.message.find("loop"), std::string::npos) << diag.format();
  }
}

// --- {host} from a Host nobody checked (an open redirect)

TEST(LintUncheckedHost, WarnsWithoutAHostConditionOrServerHosts) {
  RuleConfig upgrade = redirectRule("https-upgrade", "https://{host}{uri}");
  matchOf(upgrade).scheme = Scheme::kHttp;
  Diagnostics d = lint({upgrade});
  ASSERT_EQ(d.all().size(), 1u) << d.formatAll();
  EXPECT_NE(d.all()[0].message.find("rule 'https-upgrade' puts the request's Host into Location "
                                    "unchecked"), std::string::npos);
  EXPECT_NE(d.all()[0].message.find("server.hosts"), std::string::npos);
}

TEST(LintUncheckedHost, QuietWithAHostConditionOrServerHostsOrNoHostVariable) {
  RuleConfig checked = redirectRule("checked", "https://{host}{uri}");
  matchOf(checked).hosts = {"shop.example.com"};
  matchOf(checked).scheme = Scheme::kHttp;
  EXPECT_TRUE(lint({checked}).all().empty()) << lint({checked}).formatAll();
  RuleConfig fixed = onPrefix(redirectRule("fixed", "https://shop.example.com{uri}"), "/x");
  EXPECT_TRUE(lint({fixed}).all().empty());
  RuleConfig any = redirectRule("any", "https://{host}{uri}");
  matchOf(any).scheme = Scheme::kHttp;
  Config c = makeConfig({any});
  c.server.hosts = {"shop.example.com"};
  RuntimeState state;
  auto table = compileOk(c, state);
  ASSERT_TRUE(table);
  Diagnostics diags;
  lintRules(*table, kNow, diags);
  EXPECT_TRUE(diags.all().empty()) << diags.formatAll();
}

TEST(RedirectHost, OnlyHostsTheServerServesReachALocation) {
  RuleConfig any = redirectRule("any", "https://{host}{uri}");
  RuleConfig scoped = redirectRule("scoped", "https://{host}/x");
  matchOf(scoped).hosts = {"*.other.example"};
  Config c = makeConfig({scoped, any});
  c.server.hosts = {"shop.example.com", "*.cdn.example.com"};
  RuntimeState state;
  auto table = compileOk(c, state);
  ASSERT_TRUE(table);
  const CompiledRule& r_any = *table->findRule("any");
  const CompiledRule& r_scoped = *table->findRule("scoped");
  EXPECT_TRUE(table->redirectHostAllowed(r_any, "shop.example.com"));
  EXPECT_TRUE(table->redirectHostAllowed(r_any, "a.cdn.example.com"));
  EXPECT_FALSE(table->redirectHostAllowed(r_any, "cdn.example.com"));
  EXPECT_FALSE(table->redirectHostAllowed(r_any, "evil.example"));
  EXPECT_FALSE(table->redirectHostAllowed(r_any, ""));
  // A rule's own host condition vouches for the host it matched.
  EXPECT_TRUE(table->redirectHostAllowed(r_scoped, "a.other.example"));
}

TEST(LintLoop, SeeOtherFollowedWithGetCanLoop) {
  RuleConfig r = onPath(redirectRule("see-other", "/form", 303), "/form");
  matchOf(r).methods = {"POST", "GET"};
  EXPECT_EQ(lint({r}).all().size(), 1u);
}

TEST(LintLoop, QueryAppendedStillLoops) {
  RuleConfig r = onPrefix(redirectRule("q", "/a?b=1"), "/a");
  EXPECT_EQ(lint({r}).all().size(), 1u);
}

// --- the contract's example

TEST(LintContractExample, IsClean) {
  RuntimeState state;
  auto table = compileOk(contractExampleConfig(), state);
  ASSERT_TRUE(table);
  Diagnostics diags;
  lintRules(*table, kNow, diags);
  EXPECT_TRUE(diags.all().empty()) << diags.formatAll();
}

TEST(LintContractExample, BlackFridayExpiresAfterTheWindow) {
  RuntimeState state;
  auto table = compileOk(contractExampleConfig(), state);
  ASSERT_TRUE(table);
  Diagnostics diags;
  lintRules(*table, kBlackFridayUntil + 86'400'000, diags);
  ASSERT_EQ(diags.all().size(), 1u) << diags.formatAll();
  EXPECT_NE(diags.all()[0].message.find("rule 'black-friday-checkout' expired"), std::string::npos);
}

}  // namespace
}  // namespace detour::testing
