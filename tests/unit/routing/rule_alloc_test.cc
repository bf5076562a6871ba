// match() allocates nothing in steady state (P7). This file replaces the global operator new
// for the whole test binary with a counting one; counting is on only inside the measured
// loop, on this thread.

#include <gtest/gtest.h>

#include <cstdlib>
#include <new>

#include "routing_test_util.h"

// GCC 12 flags free() in a replacement operator delete as mismatched with the replacement
// operator new's malloc(): they are a matched pair here.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
thread_local bool t_counting = false;
thread_local size_t t_allocations = 0;
}  // namespace

void* operator new(size_t size) {
  if (t_counting) ++t_allocations;
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace detour::testing {
namespace {

Config allocConfig(int regexes) {
  std::vector<RuleConfig> rules;
  for (int i = 0; i < 50; ++i) {
    std::string n = std::to_string(i);
    RuleConfig exact = forwardRule("exact" + n);
    matchOf(exact).path = "/e/" + n;
    RuleConfig prefix = forwardRule("prefix" + n);
    matchOf(prefix).path_prefix = "/p/" + n + "/";
    RuleConfig host = forwardRule("host" + n);
    matchOf(host).hosts = {"h" + n + ".test", "*.w" + n + ".test"};
    matchOf(host).methods = {"GET"};
    rules.push_back(exact);
    rules.push_back(prefix);
    rules.push_back(host);
  }
  for (int i = 0; i < regexes; ++i) {
    RuleConfig re = forwardRule("regex" + std::to_string(i));
    matchOf(re).path_regex = "/r/" + std::to_string(i) + "/[0-9]+";
    rules.push_back(re);
  }
  RuleConfig header = forwardRule("header");
  matchOf(header).headers = {headerExact("X-A", "1"), headerRegex("X-B", "[a-z]+")};
  rules.push_back(header);
  rules.push_back(forwardRule("app"));
  return makeConfig(std::move(rules));
}

size_t allocationsPerRound(const RuleTable& table, const std::vector<TestRequest>& requests) {
  std::vector<RequestView> views;
  for (const TestRequest& r : requests) views.push_back(r.view());
  MatchCaptures caps;
  for (const RequestView& v : views) table.match(v, MatchContext{}, caps);  // warm up
  t_allocations = 0;
  t_counting = true;
  for (int round = 0; round < 100; ++round) {
    for (const RequestView& v : views) table.match(v, MatchContext{}, caps);
  }
  t_counting = false;
  return t_allocations;
}

std::vector<TestRequest> allocRequests(int regexes) {
  using H = std::vector<std::pair<std::string, std::string>>;
  std::vector<TestRequest> out = {
      request("GET http://example.com/e/7"),
      request("GET http://example.com/p/9/x/y"),
      request("GET http://h3.test/anything"),
      request("GET http://a.b.w4.test/x"),
      request("GET http://Upper.W4.TEST/x"),
      request("GET http://example.com/r/none"),
      request("GET http://example.com/h", H{{"x-a", "1"}, {"X-B", "abc"}}),
      request("GET http://example.com/nothing/at/all?q=1"),
  };
  for (int i = 0; i < regexes; i += 3) {
    out.push_back(request("GET http://example.com/r/" + std::to_string(i) + "/42"));
  }
  return out;
}

TEST(RuleMatchAllocations, CounterSeesAllocations) {
  t_allocations = 0;
  t_counting = true;
  auto* p = new std::string(100, 'x');
  t_counting = false;
  delete p;
  EXPECT_GE(t_allocations, 1u);
}

TEST(RuleMatchAllocations, NoneInSteadyStateWithFewRegexes) {
  RuntimeState state;
  auto table = compileOk(allocConfig(8), state);
  ASSERT_TRUE(table);
  EXPECT_EQ(allocationsPerRound(*table, allocRequests(8)), 0u);
}

TEST(RuleMatchAllocations, NoneForRegexSetMisses) {
  RuntimeState state;
  auto table = compileOk(allocConfig(100), state);
  ASSERT_TRUE(table);
  // Requests that no regex matches: the set's first pass says no and allocates nothing. (A
  // set hit allocates inside RE2::Set::Match; see rule_table.h.)
  std::vector<TestRequest> misses = allocRequests(0);
  EXPECT_EQ(allocationsPerRound(*table, misses), 0u);
}

}  // namespace
}  // namespace detour::testing
