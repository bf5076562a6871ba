// The index against the reference linear scan on random tables, and its cost at scale,
// counted in full rule checks (deterministic; no timing).

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "routing_test_util.h"

namespace detour::testing {
namespace {

// --- randomized equivalence

struct RegexEntry {
  const char* pattern;
  const char* to;  // a template using the captures, so extraction is exercised
};

const std::vector<std::string> kHosts = {"a.com", "b.com", "x.a.com", "y.x.a.com", "c.org"};
const std::vector<std::string> kWildcards = {"*.a.com", "*.x.a.com", "*.org"};
const std::vector<std::string> kRequestHosts = {"a.com",   "b.com",   "x.a.com", "y.x.a.com",
                                                "c.org",   "q.c.org", "",        "A.COM",
                                                "z.a.com", "org",     "x.A.com"};
const std::vector<std::string> kPaths = {"/",         "/a",       "/a/",       "/a/b",
                                         "/a/b/c",    "/b",       "/api/v1/x", "/api/v2",
                                         "/items/12", "/items/x", "/a/q/c"};
const std::vector<std::string> kPrefixes = {"/",     "/a",       "/a/", "/a/b",
                                            "/api/", "/api/v1/", "/b",  "/items/"};
const std::vector<RegexEntry> kRegexes = {
    {"/a/.*", "/r"},
    {"/a/[a-z]+", "/r"},
    {"/api/v([0-9]+)/.*", "/v/{1}"},
    {"/(a|b)", "/{1}"},
    {"/.*/c", "/r"},
    {"/b", "/r"},
    {"/items/([0-9]+)", "/i/{1}"},
    {"/a/(?P<n>[a-z])/c", "/n/{n}"},
};
const std::vector<std::string> kMethods = {"GET", "POST", "PUT", "DELETE"};
const std::vector<std::string> kHeaderNames = {"X-A", "x-b"};
const std::vector<std::string> kHeaderValues = {"1", "2"};
const std::vector<std::string> kHeaderRegexes = {"[0-9]", "1|3"};

class RandomTables {
 public:
  explicit RandomTables(uint32_t seed) : rng_(seed) {}

  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng_)];
  }

  RuleConfig rule(size_t i) {
    std::string name = "r" + std::to_string(i);
    RuleConfig r = forwardRule(name);
    if (chance(0.1)) return r;  // no match block
    MatchConfig& m = matchOf(r);
    if (chance(0.35)) {
      int n = chance(0.7) ? 1 : 2;
      for (int k = 0; k < n; ++k) m.hosts.push_back(chance(0.6) ? pick(kHosts) : pick(kWildcards));
    }
    if (chance(0.2)) m.scheme = chance(0.5) ? Scheme::kHttp : Scheme::kHttps;
    double key = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (key < 0.3) {
      m.path = pick(kPaths);
      if (chance(0.05)) m.path_prefix = pick(kPrefixes);
    } else if (key < 0.55) {
      m.path_prefix = pick(kPrefixes);
    } else if (key < 0.75) {
      const RegexEntry& e = pick(kRegexes);
      m.path_regex = e.pattern;
      r = withAction(std::move(r), redirectRule(name, e.to));
    }
    if (chance(0.25)) {
      m.methods.push_back(pick(kMethods));
      if (chance(0.5)) m.methods.push_back(pick(kMethods));
    }
    if (chance(0.2)) {
      m.headers.push_back(chance(0.7) ? headerExact(pick(kHeaderNames), pick(kHeaderValues))
                                      : headerRegex(pick(kHeaderNames), pick(kHeaderRegexes)));
    }
    if (chance(0.1)) {
      static const WhenConfig::Kind kKinds[] = {WhenConfig::Kind::kFlag, WhenConfig::Kind::kNotFlag,
                                                WhenConfig::Kind::kPoolDown};
      WhenConfig::Kind kind = kKinds[std::uniform_int_distribution<int>(0, 2)(rng_)];
      r.when = {kind, kind == WhenConfig::Kind::kPoolDown ? "orders" : "maint", {}};
    }
    if (chance(0.1)) {
      if (chance(0.6)) r.active.from = 1000;
      if (chance(0.6)) r.active.until = 2000;
    }
    return r;
  }

  TestRequest request() {
    TestRequest req;
    req.method = chance(0.9) ? pick(kMethods) : "PATCH";
    req.scheme = chance(0.5) ? Scheme::kHttp : Scheme::kHttps;
    req.host = pick(kRequestHosts);
    double p = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (p < 0.4) {
      req.path = pick(kPaths);
    } else if (p < 0.8) {
      req.path = pick(kPrefixes) + pick(std::vector<std::string>{"", "x", "c", "1/c", "/", "v1/"});
    } else {
      req.path = "/" + std::to_string(rng_() % 100);
    }
    if (chance(0.3)) req.query = "?q=1";
    int headers = std::uniform_int_distribution<int>(0, 3)(rng_);
    for (int k = 0; k < headers; ++k) {
      req.headers.emplace_back(chance(0.5) ? "X-A" : "X-B", chance(0.5) ? "1" : "3");
    }
    return req;
  }

 private:
  static RuleConfig withAction(RuleConfig r, RuleConfig from) {
    r.action = from.action;
    return r;
  }
  std::mt19937 rng_;
};

class RandomTableTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(RandomTableTest, IndexAgreesWithLinearScan) {
  RandomTables gen(GetParam());
  std::vector<RuleConfig> rules;
  for (size_t i = 0; i < 300; ++i) rules.push_back(gen.rule(i));
  RuntimeState state;
  auto table = compileOk(makeConfig(std::move(rules)), state);
  ASSERT_TRUE(table);
  size_t matched = 0;
  for (int i = 0; i < 600; ++i) {
    TestRequest req = gen.request();
    state.findFlag("maint")->value.store(gen.chance(0.5));
    state.findPool("orders")->down.store(gen.chance(0.5));
    MatchContext ctx{static_cast<EpochMillis>(500 * (i % 5))};
    MatchCaptures caps;
    MatchCaptures linear_caps;
    RequestView view = req.view();
    const CompiledRule* indexed = table->match(view, ctx, caps);
    const CompiledRule* linear = table->matchLinearForTest(view, ctx, linear_caps);
    ASSERT_EQ(indexed, linear) << "seed " << GetParam() << " request " << i << ": " << req.method
                               << " " << req.host << req.path << " -> "
                               << (indexed ? indexed->name() : "none") << " vs "
                               << (linear ? linear->name() : "none");
    if (indexed == nullptr) continue;
    ++matched;
    EXPECT_EQ(caps.group_count, linear_caps.group_count);
    EXPECT_EQ(caps.groups, linear_caps.groups);
    EXPECT_EQ(caps.path_suffix, linear_caps.path_suffix);
  }
  EXPECT_GT(matched, 100u);  // the vocabulary is shared, so most requests match something
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomTableTest, ::testing::Range<uint32_t>(1, 21));

// --- scale: 10,000 rules, the matching one last

size_t checksFor(const RuleTable& table, const TestRequest& req, const std::string& expected) {
  MatchCaptures caps;
  size_t checks = 0;
  const CompiledRule* rule = table.matchCountingForTest(req.view(), MatchContext{}, caps, &checks);
  EXPECT_TRUE(rule != nullptr && rule->name() == expected)
      << (rule ? rule->name() : std::string("none"));
  return checks;
}

constexpr size_t kScale = 10'000;

TEST(RuleIndexScale, ExactPathsLastRuleMatchesAfterOneCheck) {
  std::vector<RuleConfig> rules;
  for (size_t i = 0; i + 1 < kScale; ++i) {
    RuleConfig r = forwardRule("r" + std::to_string(i));
    matchOf(r).path = "/p/" + std::to_string(i);
    rules.push_back(std::move(r));
  }
  RuleConfig last = forwardRule("last");
  matchOf(last).path = "/target";
  rules.push_back(std::move(last));
  RuntimeState state;
  auto table = compileOk(makeConfig(std::move(rules)), state);
  ASSERT_TRUE(table);
  EXPECT_EQ(checksFor(*table, request("GET http://example.com/target"), "last"), 1u);
}

TEST(RuleIndexScale, PrefixesLastRuleMatchesAfterOneCheck) {
  std::vector<RuleConfig> rules;
  for (size_t i = 0; i + 1 < kScale; ++i) {
    RuleConfig r = forwardRule("r" + std::to_string(i));
    matchOf(r).path_prefix = "/p/" + std::to_string(i) + "/";
    rules.push_back(std::move(r));
  }
  RuleConfig last = forwardRule("last");
  matchOf(last).path_prefix = "/target/";
  rules.push_back(std::move(last));
  RuntimeState state;
  auto table = compileOk(makeConfig(std::move(rules)), state);
  ASSERT_TRUE(table);
  EXPECT_EQ(checksFor(*table, request("GET http://example.com/target/x/y"), "last"), 1u);
}

TEST(RuleIndexScale, RegexesLastRuleMatchesAfterOneCheck) {
  std::vector<RuleConfig> rules;
  for (size_t i = 0; i + 1 < kScale; ++i) {
    RuleConfig r = forwardRule("r" + std::to_string(i));
    matchOf(r).path_regex = "/r/" + std::to_string(i) + "/[0-9]+";
    rules.push_back(std::move(r));
  }
  RuleConfig last = redirectRule("last", "/t/{1}");
  matchOf(last).path_regex = "/target/([0-9]+)";
  rules.push_back(std::move(last));
  RuntimeState state;
  auto table = compileOk(makeConfig(std::move(rules)), state);
  ASSERT_TRUE(table);
  EXPECT_EQ(checksFor(*table, request("GET http://example.com/target/42"), "last"), 1u);
}

// A mixed table: exact paths, prefixes, host-only rules, wildcard hosts, regexes; the winner
// is last, and a catch-all-free miss costs nothing.
TEST(RuleIndexScale, MixedTableLastRuleMatchesAfterAFewChecks) {
  std::vector<RuleConfig> rules;
  for (size_t i = 0; i + 1 < kScale; ++i) {
    RuleConfig r = forwardRule("r" + std::to_string(i));
    MatchConfig& m = matchOf(r);
    std::string n = std::to_string(i);
    switch (i % 5) {
      case 0:
        m.path = "/p/" + n;
        break;
      case 1:
        m.path_prefix = "/pre/" + n + "/";
        break;
      case 2:
        m.hosts = {"h" + n + ".example.com"};
        break;
      case 3:
        m.hosts = {"*.w" + n + ".example.com"};
        break;
      case 4:
        m.path_regex = "/re/" + n + "/.*";
        break;
    }
    if (i % 7 == 0) m.methods = {"POST"};
    rules.push_back(std::move(r));
  }
  RuleConfig last = forwardRule("last");
  matchOf(last).hosts = {"shop.example.com"};
  matchOf(last).path = "/checkout";
  rules.push_back(std::move(last));
  RuntimeState state;
  auto table = compileOk(makeConfig(std::move(rules)), state);
  ASSERT_TRUE(table);
  EXPECT_LE(checksFor(*table, request("GET http://shop.example.com/checkout"), "last"), 4u);
  EXPECT_LE(checksFor(*table, request("GET http://SHOP.example.com/checkout?x=1"), "last"), 4u);
  Diagnostics lint;
  lintRules(*table, 0, lint);  // the shadow lint is indexed too: this stays fast
  EXPECT_TRUE(lint.all().empty()) << lint.formatAll();
  size_t checks = 99;
  MatchCaptures caps;
  EXPECT_EQ(table->matchCountingForTest(request("GET http://nowhere.test/none").view(),
                                        MatchContext{}, caps, &checks),
            nullptr);
  EXPECT_EQ(checks, 0u);
}

// Virtual hosting: the same paths on 100 hosts. The host level of the index keeps one host's
// rules from being candidates for another's requests.
TEST(RuleIndexScale, SamePathsOnManyHosts) {
  std::vector<RuleConfig> rules;
  for (int h = 0; h < 100; ++h) {
    for (int p = 0; p < 100; ++p) {
      RuleConfig r = forwardRule("h" + std::to_string(h) + "p" + std::to_string(p));
      matchOf(r).hosts = {"site" + std::to_string(h) + ".test"};
      if (p % 2 == 0) {
        matchOf(r).path = "/page" + std::to_string(p);
      } else {
        matchOf(r).path_prefix = "/section" + std::to_string(p) + "/";
      }
      rules.push_back(std::move(r));
    }
  }
  RuntimeState state;
  auto table = compileOk(makeConfig(std::move(rules)), state);
  ASSERT_TRUE(table);
  EXPECT_EQ(checksFor(*table, request("GET http://site99.test/page98"), "h99p98"), 1u);
  EXPECT_EQ(checksFor(*table, request("GET http://site99.test/section99/x"), "h99p99"), 1u);
}

TEST(RuleIndexScale, CatchAllAfterManyRulesIsOneCheck) {
  std::vector<RuleConfig> rules;
  for (size_t i = 0; i + 1 < kScale; ++i) {
    RuleConfig r = forwardRule("r" + std::to_string(i));
    matchOf(r).path = "/p/" + std::to_string(i);
    rules.push_back(std::move(r));
  }
  rules.push_back(forwardRule("app"));
  RuntimeState state;
  auto table = compileOk(makeConfig(std::move(rules)), state);
  ASSERT_TRUE(table);
  EXPECT_EQ(checksFor(*table, request("GET http://example.com/unknown"), "app"), 1u);
  EXPECT_EQ(checksFor(*table, request("GET http://example.com/p/9998"), "r9998"), 1u);
}

// Many threads match on one table while another flips a flag: every answer is one of the two
// the flag allows (run under -DDETOUR_SANITIZE=thread to check the data path is race-free).
TEST(RuleIndex, ConcurrentMatches) {
  RuleConfig maint = forwardRule("maint");
  matchOf(maint).path_prefix = "/pay";
  maint.when = {WhenConfig::Kind::kFlag, "maint", {}};
  RuleConfig re = redirectRule("re", "/x/{1}");
  matchOf(re).path_regex = "/pay/([0-9]+)";
  RuntimeState state;
  auto table = compileOk(makeConfig({maint, re, forwardRule("app")}), state);
  ASSERT_TRUE(table);
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      TestRequest req = request("GET http://example.com/pay/12");
      RequestView view = req.view();
      for (int i = 0; i < 20'000; ++i) {
        MatchCaptures caps;
        const CompiledRule* r = table->match(view, MatchContext{}, caps);
        if (r == nullptr || (r->name() != "maint" && r->name() != "re")) ++bad;
        if (r != nullptr && r->name() == "re" && caps.groups[1] != "12") ++bad;
      }
    });
  }
  FlagCell* cell = state.findFlag("maint");
  for (int i = 0; i < 1000; ++i) cell->value.store(i % 2 == 0, std::memory_order_relaxed);
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

// Candidates that fail their full check (here: a header) are counted, and the merge still
// returns the lowest matching id. A rule limited to other methods is not even a candidate.
TEST(RuleIndex, CountsFailedCandidates) {
  RuleConfig post = forwardRule("post");
  matchOf(post).path = "/x";
  matchOf(post).methods = {"POST"};
  RuleConfig hdr = forwardRule("hdr");
  matchOf(hdr).path = "/x";
  matchOf(hdr).headers.push_back(headerExact("X-A", "1"));
  RuleConfig prefix = forwardRule("prefix");
  matchOf(prefix).path_prefix = "/x";
  RuntimeState state;
  auto table = compileOk(makeConfig({post, hdr, prefix, forwardRule("app")}), state);
  ASSERT_TRUE(table);
  EXPECT_EQ(checksFor(*table, request("GET http://example.com/x"), "prefix"), 2u);
  EXPECT_EQ(checksFor(*table, request("POST http://example.com/x"), "post"), 1u);
  EXPECT_EQ(checksFor(*table, request("PROPFIND http://example.com/x"), "prefix"), 2u);
}

// A thousand rules for POST on one path cost a GET on that path nothing; rules listing an
// unusual method are still found for it (the "other" class).
TEST(RuleIndex, RulesForOtherMethodsAreNoCandidates) {
  std::vector<RuleConfig> rules;
  for (int i = 0; i < 1000; ++i) {
    RuleConfig r = forwardRule("post" + std::to_string(i));
    matchOf(r).path = "/old";
    matchOf(r).methods = {"POST", "PUT"};
    matchOf(r).headers.push_back(headerExact("X-N", std::to_string(i)));
    rules.push_back(r);
  }
  RuleConfig dav = forwardRule("dav");
  matchOf(dav).path_prefix = "/old";
  matchOf(dav).methods = {"PROPFIND"};
  rules.push_back(dav);
  RuleConfig re = forwardRule("re");
  matchOf(re).path_regex = "/ol(d)";
  matchOf(re).methods = {"GET", "HEAD"};
  rules.push_back(re);
  RuleConfig last = forwardRule("last");
  matchOf(last).path = "/old";
  rules.push_back(last);
  RuntimeState state;
  auto table = compileOk(makeConfig(rules), state);
  ASSERT_TRUE(table);
  EXPECT_EQ(checksFor(*table, request("GET http://example.com/old"), "re"), 1u);
  EXPECT_EQ(checksFor(*table, request("DELETE http://example.com/old"), "last"), 1u);
  EXPECT_EQ(checksFor(*table, request("PROPFIND http://example.com/old"), "dav"), 1u);
  EXPECT_EQ(checksFor(*table, request("POST http://example.com/old"), "last"), 1001u);
}

// config_fuzz crash-regex-set-too-large-no-position: nine path_regex rules that each compile
// but together pass the RE2::Set memory budget failed the table with "cannot index the rules"
// at line 0, col 0 ("fuzz.yaml:0:0"). Every diagnostic must point into the file (style P13):
// here, at one of the rules whose regex went into the set.
TEST(RuleIndexFuzz, ARegexSetTooLargeIsReportedAtARule) {
  std::vector<RuleConfig> rules;
  for (int i = 0; i < 9; ++i) {
    RuleConfig r = respondRule("r" + std::to_string(i));
    matchOf(r).path_regex = "/" + std::to_string(i) + "\\pL{260}";  // ~310,000 RE2 insts each
    rules.push_back(r);
  }
  RuntimeState state;
  Diagnostics diags;
  auto table = RuleTable::compile(makeConfig(rules), state, diags);
  EXPECT_EQ(table, nullptr);
  ASSERT_TRUE(diags.hasErrors());
  for (const Diagnostic& d : diags.all()) {
    EXPECT_GE(d.pos.line, 1) << d.format();
    EXPECT_GE(d.pos.col, 1) << d.format();
  }
}

}  // namespace
}  // namespace detour::testing
