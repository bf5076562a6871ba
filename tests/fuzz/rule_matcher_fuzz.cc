// Fuzzes the rule matcher: one fixed table (kRules below: every index bucket, more than eight
// regexes in one bucket so RE2::Set is used, every method class, captures, when/active) and
// fuzz-chosen requests.
//
// Input: text lines, '\n'-separated (a request line cannot hold LF, so nothing is lost):
//   1  method                  e.g. GET
//   2  scheme                  "https" or anything else for http
//   3  host                    lower-cased as splitHost does, port removed
//   4  port
//   5  path and query          "/a/b?x=1"; a '/' is put in front when missing (RequestView)
//   6  switches                'm': flag maint on; 'd': pool orders down; 'w': now inside the
//                              active window; 'e': now after it (else before it)
//   7+ headers                 "Name: value", one a line
//
// Invariants:
//   - match() returns the same rule as the first-match linear scan, with the same captures,
//     all pointing into the request's path;
//   - decide() agrees; a Location holds only URI bytes: nothing below 0x21, no DEL or bytes
//     >= 0x80, none of " < > \ ^ ` { | } (so no CR, LF, NUL, space or other control).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/string_util.h"
#include "config/config_loader.h"
#include "fuzz_util.h"
#include "routing/decision.h"
#include "routing/rule_table.h"
#include "routing/runtime_state.h"

namespace detour::fuzz {
namespace {

constexpr char kRules[] = R"yaml(
version: 1
server: { listen: ["127.0.0.1:8080"] }
flags: { maint: {} }
pools:
  app: { backends: ["127.0.0.1:9001"] }
  orders: { backends: ["127.0.0.1:9002"] }
rules:
  - name: https-upgrade
    match: { host: secure.example.com, scheme: http }
    redirect: { to: "https://{host}{uri}", code: 308 }
  - name: orders-v1-moved
    match: { path: /api/v1/orders, methods: [POST, PUT, DELETE] }
    redirect: { to: /api/v2/orders, code: 307 }
  - name: api-v1-prefix
    match: { path_prefix: /api/v1/ }
    redirect: { to: "/api/v2/{path_suffix}" }
  - name: payments-maintenance
    match: { path_prefix: /api/payments }
    when: { flag: maint }
    redirect: { to: "https://backup.example.com{uri}", retry_after: 120 }
  - name: orders-failover
    match: { path_prefix: /api/v2/orders }
    when: { pool_down: orders }
    redirect: { to: "https://backup.example.com{uri}" }
  - name: window
    match: { path_prefix: /checkout }
    active: { from: "2036-11-27T00:00:00Z", until: "2036-11-30T00:00:00Z" }
    redirect: { to: "https://pay.example.net{uri}" }
  - name: not-maint
    match: { path_prefix: /maint }
    when: { flag: "!maint" }
    respond: { status: 503 }
  - name: users
    match: { host: "*.example.org", path_regex: "/u/(?P<user>[^/]+)/(?P<rest>.*)" }
    redirect: { to: "https://{host}/users/{user}/{rest}{query}", keep_query: false }
  - name: shop-beta
    match:
      host: [shop.example.com, www.shop.example.com]
      path_prefix: /
      headers: { X-Beta: "1" }
    forward: { pool: app }
  - name: mobile
    match: { path_prefix: /m, headers: { User-Agent: { regex: ".*Mobile.*" } } }
    redirect: { to: "https://m.example.com{path}", code: 302 }
  - name: numbered
    match: { path_regex: "/n/(\\d+)/(.*)", methods: [GET, HEAD] }
    redirect: { to: "/num/{2}/{1}?whole={0}", code: 301 }
  - name: re0
    match: { path_regex: "/re0/([a-z]+)(/.*)?" }
    redirect: { to: "/r/0/{1}{2}" }
  - name: re1
    match: { path_regex: "/re1/(.*)", methods: [POST] }
    redirect: { to: "/r/1/{1}" }
  - name: re2
    match: { path_regex: "/re[0-9]/x(.*)" }
    redirect: { to: "/r/2/{1}" }
  - name: re3
    match: { path_regex: "(?i)/RE3/(.+)" }
    redirect: { to: "/r/3/{1}" }
  - name: re4
    match: { path_regex: "/re4/(?P<a>[^/]*)/(?P<b>[^/]*)/(?P<c>.*)" }
    redirect: { to: "/r/4/{c}/{b}/{a}" }
  - name: re5
    match: { path_regex: "/re5/(.*)%0[dD]%0[aA](.*)" }
    redirect: { to: "/r/5/{1}/{2}" }
  - name: re6
    match: { path_regex: "/re6(/.*)?", headers: { X-Re: "6" } }
    redirect: { to: "/r/6{1}" }
  - name: re7
    match: { path_regex: "/re7/\\x{1F600}/(.*)" }
    redirect: { to: "/r/7/{1}" }
  - name: re8
    match: { path_regex: "/re8/((a)|(b))+/(.*)" }
    redirect: { to: "/r/8/{1}/{2}/{3}/{4}" }
  - name: re9
    match: { path_regex: "/re9/[^?]*" }
    respond: { status: 200 }
  - name: wild-prefix
    match: { host: "*.example.com", path_prefix: /w/ }
    redirect: { to: "{scheme}://{host}:{port}/wild/{path_suffix}" }
  - name: exact-host
    match: { host: example.com, path: / }
    redirect: { to: /home }
  - name: https-only
    match: { scheme: https, path_prefix: /secure/ }
    redirect: { to: "{scheme}://{host}/s/{path_suffix}?from={uri}" }
  - name: purge-only
    match: { path_prefix: /cache/, methods: [PURGE] }
    respond: { status: 200 }
  - name: patch-options
    match: { path_prefix: /cache/, methods: [PATCH, OPTIONS] }
    respond: { status: 204 }
  - name: cache-get-regex
    match: { path_regex: "/cache/(.*)", methods: [GET] }
    redirect: { to: "/c/{1}" }
  - name: brew-exact
    match: { path: /cache/pot, methods: [BREW, PUT] }
    respond: { status: 200 }
  - name: api
    match: { path_prefix: /api }
    forward: { pool: orders }
  - name: catch-all
    forward: { pool: app }
)yaml";

constexpr EpochMillis kBeforeWindow = 1'800'000'000'000;
constexpr EpochMillis kInWindow = 2'111'356'800'000;     // 2036-11-28
constexpr EpochMillis kAfterWindow = 2'114'380'800'000;  // 2037-01-01

struct Table {
  RuntimeState state;
  std::shared_ptr<const RuleTable> table;
  FlagCell* maint = nullptr;
  PoolCell* orders = nullptr;
};

const Table& fixedTable() {
  static const Table* t = [] {
    auto* t = new Table;
    LoadResult loaded = loadConfigString(kRules, "rule_matcher_fuzz.yaml");
    Diagnostics diags;
    if (loaded.config) t->table = RuleTable::compile(*loaded.config, t->state, diags);
    if (!t->table) {
      std::fprintf(stderr, "rule_matcher_fuzz: the fixed rules do not compile:\n%s%s",
                   loaded.diagnostics.formatAll().c_str(), diags.formatAll().c_str());
      std::abort();
    }
    t->maint = t->state.findFlag("maint");
    t->orders = t->state.findPool("orders");
    return t;
  }();
  return *t;
}

bool intoPath(std::string_view part, std::string_view path) {
  return part.data() == nullptr ||
         (part.data() >= path.data() && part.data() + part.size() <= path.data() + path.size());
}

}  // namespace
}  // namespace detour::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace detour;
  using namespace detour::fuzz;
  const Table& t = fixedTable();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> f = splitFields(text, 7);

  std::string host = asciiLowerCopy(f[2]);
  std::string target(f[4]);
  if (target.empty() || target.front() != '/') target.insert(0, "/");
  size_t q = target.find('?');
  std::string_view target_view(target);
  std::vector<HeaderView> headers;
  for (std::string_view rest = f[6]; !rest.empty();) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    headers.push_back({line.substr(0, colon), trimOws(line.substr(colon + 1))});
  }

  RequestView req;
  req.method = f[0];
  req.scheme = f[1] == "https" ? Scheme::kHttps : Scheme::kHttp;
  req.host = host;
  req.port = f[3];
  req.path = target_view.substr(0, q);
  req.query = q == std::string::npos ? std::string_view() : target_view.substr(q);
  req.headers = headers;
  std::string_view sw = f[5];
  t.maint->value.store(sw.find('m') != std::string_view::npos);
  t.orders->down.store(sw.find('d') != std::string_view::npos);
  MatchContext ctx{sw.find('w') != std::string_view::npos   ? kInWindow
                   : sw.find('e') != std::string_view::npos ? kAfterWindow
                                                            : kBeforeWindow};

  MatchCaptures caps, linear_caps;
  const CompiledRule* indexed = t.table->match(req, ctx, caps);
  const CompiledRule* linear = t.table->matchLinearForTest(req, ctx, linear_caps);
  auto name = [](const CompiledRule* r) { return r == nullptr ? std::string("none") : r->name(); };
  FUZZ_CHECK(indexed == linear, "index chose " + name(indexed) + ", linear scan " + name(linear));
  if (indexed == nullptr) return 0;
  FUZZ_CHECK(
      caps.group_count == linear_caps.group_count && caps.path_suffix == linear_caps.path_suffix,
      "captures differ for " + indexed->name());
  for (int g = 0; g < caps.group_count; ++g) {
    FUZZ_CHECK(caps.groups[g] == linear_caps.groups[g],
               "group " + std::to_string(g) + " differs for " + indexed->name());
    FUZZ_CHECK(intoPath(caps.groups[g], req.path),
               "group " + std::to_string(g) + " is not in the path");
  }
  FUZZ_CHECK(intoPath(caps.path_suffix, req.path), "path_suffix is not in the path");

  if (indexed->kind() == ActionKind::kRedirect) {
    std::string location;
    indexed->buildLocation(req, caps, location);
    FUZZ_CHECK(!location.empty(), "empty Location from " + indexed->name());
    FUZZ_CHECK(onlyUriBytes(location), indexed->name() + ": Location " + printable(location));
  }
  Decision d = decide(*t.table, req, ctx);
  FUZZ_CHECK(d.rule == indexed, "decide() chose " + name(d.rule));
  FUZZ_CHECK(onlyUriBytes(d.location), "decide(): Location " + printable(d.location));
  return 0;
}
