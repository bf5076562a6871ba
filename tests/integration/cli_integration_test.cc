// The command line of the real binary: check, explain (text and JSON) and test, and that
// `explain` agrees with the live server on every rule of the contract's example config.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "support/detour_process.h"
#include "support/fake_backend.h"
#include "support/raw_client.h"
#include "support/wait.h"

namespace detour::test {
namespace {

using namespace std::chrono_literals;

std::string repoPath(const std::string& rel) { return std::string(DETOUR_SOURCE_DIR) + "/" + rel; }

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int detour(const std::string& args, std::string& out) {
  return runCommand("'" + detourBinary() + "' " + args + " 2>&1", out);
}

TEST(Cli, VersionAndHelp) {
  std::string out;
  EXPECT_EQ(detour("--version", out), 0);
  EXPECT_NE(out.find("detour "), std::string::npos);
  EXPECT_EQ(detour("--help", out), 0);
  EXPECT_NE(out.find("detour explain"), std::string::npos);
  EXPECT_EQ(detour("frobnicate -c x.yaml", out), 2);
}

// A word that is not a command is named as such, with the commands (and a near one), instead
// of a complaint about -c.
TEST(Cli, UnknownCommandIsNamedWithTheCommands) {
  std::string out;
  EXPECT_EQ(detour("bogus", out), 2);
  EXPECT_NE(out.find("detour: unknown command 'bogus'\ncommands: run, check, explain, test, diff"),
            std::string::npos) << out;
  EXPECT_EQ(out.find("-c FILE is required"), std::string::npos) << out;
  EXPECT_EQ(detour("chek -c x.yaml --strict", out), 2);
  EXPECT_NE(out.find("unknown command 'chek'; did you mean 'check'?"), std::string::npos) << out;
  EXPECT_EQ(detour("explian --bogus-option", out), 2);
  EXPECT_NE(out.find("unknown command 'explian'; did you mean 'explain'?"), std::string::npos)
      << out;
  EXPECT_EQ(detour("detour.yaml", out), 2);
  EXPECT_NE(out.find("unknown command 'detour.yaml'; to run a config, use: detour -c detour.yaml"),
            std::string::npos) << out;
  EXPECT_EQ(detour("check", out), 2);  // a real command still needs its -c
  EXPECT_NE(out.find("-c FILE is required"), std::string::npos) << out;
}

// Every config shipped in config/ passes `detour check --strict`.
TEST(Cli, EveryShippedConfigPassesStrictCheck) {
  int seen = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(repoPath("config"))) {
    if (entry.path().extension() != ".yaml" ||
        entry.path().string().find(".cases.") != std::string::npos) {
      continue;
    }
    std::string out;
    EXPECT_EQ(detour("check --strict -c '" + entry.path().string() + "'", out), 0)
        << entry.path() << "\n" << out;
    ++seen;
  }
  EXPECT_GE(seen, 2);
}

TEST(Cli, CheckReportsFileLineColumnAndExitsOne) {
  TempDir dir;
  std::string path = dir.write("bad.yaml", R"(version: 1
server:
  listen: ["127.0.0.1:0"]
rules:
  - name: a
    match: { pathprefix: /x }
    redirect: { to: /y }
)");
  std::string out;
  EXPECT_EQ(detour("check -c '" + path + "'", out), 1);
  EXPECT_NE(out.find(path + ":6:14: error: unknown key 'pathprefix'"), std::string::npos) << out;
  EXPECT_NE(out.find("path_prefix"), std::string::npos) << out;
}

// The real `detour check` prints exactly the findings of the check goldens
// (tests/data/config/check, see tests/unit/config/check_golden_test.cc), with and without
// --strict, and exits 0 for "result: ok", 1 for "result: invalid".
TEST(Cli, CheckPrintsTheCheckGoldens) {
  namespace fs = std::filesystem;
  const std::string dir = repoPath("tests/data/config/check") + "/";
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    std::string name = entry.path().stem().string();
    for (bool strict : {false, true}) {
      std::string out;
      int rc = detour(std::string("check ") + (strict ? "--strict " : "") + "-c '" + dir + name +
                          ".yaml'", out);
      std::string findings;
      std::istringstream lines(out);
      for (std::string line; std::getline(lines, line);) {
        if (line.rfind(dir + name + ".yaml: ", 0) == 0) continue;  // the summary line
        if (line.rfind(dir, 0) == 0) line.erase(0, dir.size());
        findings += line + "\n";
      }
      std::string expected = readText(dir + name + (strict ? ".strict" : "") + ".expected");
      bool ok = expected.find("result: ok\n") != std::string::npos;
      expected.erase(expected.rfind("result: "));
      EXPECT_EQ(findings, expected) << name << (strict ? " --strict" : "");
      EXPECT_EQ(rc, ok ? 0 : 1) << name << (strict ? " --strict" : "") << "\n" << out;
      if (strict && !ok && expected.find("warning:") != std::string::npos &&
          expected.find("error:") == std::string::npos) {
        EXPECT_NE(out.find("(--strict: warnings are errors)"), std::string::npos) << out;
      }
    }
    ++seen;
  }
  EXPECT_GE(seen, 5);
}

TEST(Cli, StrictTurnsTheMethodSafetyWarningIntoAFailure) {
  TempDir dir;
  std::string path = dir.write("warn.yaml", R"(version: 1
server:
  listen: ["127.0.0.1:0"]
rules:
  - name: old-form
    match: { path: /form }
    redirect: { to: /new-form, code: 302 }
)");
  std::string out;
  EXPECT_EQ(detour("check -c '" + path + "'", out), 0) << out;
  EXPECT_NE(out.find(path + ":7:"), std::string::npos) << out;
  EXPECT_NE(out.find("warning:"), std::string::npos) << out;
  EXPECT_EQ(detour("check --strict -c '" + path + "'", out), 1) << out;
}

TEST(Cli, ExplainTextAndJson) {
  std::string cfg = repoPath("config/examples/contract.yaml");
  std::string out;
  ASSERT_EQ(detour("explain -c '" + cfg + "' POST https://shop.example.com/api/v1/orders", out), 0)
      << out;
  EXPECT_NE(out.find("rule:     orders-v1-moved"), std::string::npos) << out;
  EXPECT_NE(out.find("status:   307 Temporary Redirect"), std::string::npos) << out;
  EXPECT_NE(out.find("location: /api/v2/orders"), std::string::npos) << out;
  ASSERT_EQ(detour("explain --json -c '" + cfg + "' GET 'https://shop.example.com/api/v2/orders/7'"
                   " --pool-down orders", out), 0) << out;
  EXPECT_NE(out.find("\"rule\":\"orders-failover\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"location\":\"https://backup.example.com/api/v2/orders/7\""),
            std::string::npos) << out;
  ASSERT_EQ(detour("explain --json -c '" + cfg + "' GET https://shop.example.com/x", out), 0);
  EXPECT_NE(out.find("\"rule\":\"app\",\"index\":7"), std::string::npos) << out;
  EXPECT_NE(out.find("\"pool\":\"orders\""), std::string::npos) << out;
  // A Host outside server.hosts where {host} would fill the Location: 421, and no Location.
  ASSERT_EQ(detour("explain -c '" + cfg + "' GET http://evil.example/login", out), 0) << out;
  EXPECT_NE(out.find("rule:     https-upgrade"), std::string::npos) << out;
  EXPECT_NE(out.find("status:   421 Misdirected Request (the Host is not in server.hosts"),
            std::string::npos) << out;
  EXPECT_EQ(out.find("location:"), std::string::npos) << out;
  EXPECT_EQ(out.find("cache-control:"), std::string::npos) << out;
  ASSERT_EQ(detour("explain --json -c '" + cfg + "' GET http://evil.example/login", out), 0);
  EXPECT_NE(out.find("\"status\":421,\"location\":null"), std::string::npos) << out;
  EXPECT_NE(out.find("\"retry_after\":null,\"reason\":\"the Host is not in server.hosts"),
            std::string::npos) << out;
}

TEST(Cli, TestRunsTheContractCasesAndReportsFailuresWithLines) {
  std::string cfg = repoPath("config/examples/contract.yaml");
  std::string out;
  EXPECT_EQ(detour("test -c '" + cfg + "' '" + repoPath("config/examples/contract.cases.yaml") + "'",
                   out), 0) << out;
  EXPECT_NE(out.find("0 failed"), std::string::npos) << out;
  TempDir dir;
  std::string cases = dir.write("cases.yaml", R"(- request: POST https://shop.example.com/api/v1/orders
  expect: { rule: orders-v1-moved, status: 307 }
- request: POST https://shop.example.com/api/v1/orders
  expect: { status: 308, location: /elsewhere }
)");
  EXPECT_EQ(detour("test -c '" + cfg + "' '" + cases + "'", out), 1) << out;
  EXPECT_NE(out.find(cases + ":3: case 2"), std::string::npos) << out;
  EXPECT_NE(out.find("expected 308, got 307"), std::string::npos) << out;
  EXPECT_NE(out.find("2 case(s), 1 passed, 1 failed"), std::string::npos) << out;
}

// A forward to a pool that is down is answered by detour itself, 503 with Retry-After:
// explain and test say so instead of "the backend's".
TEST(Cli, ExplainAndTestGiveThe503OfAPoolThatIsDown) {
  std::string cfg = repoPath("config/examples/contract.yaml");
  std::string out;
  ASSERT_EQ(detour("explain -c '" + cfg + "' GET https://shop.example.com/catalog "
                   "--pool-down orders", out), 0) << out;
  EXPECT_NE(out.find("rule:     app"), std::string::npos) << out;
  EXPECT_NE(out.find("status:   503 Service Unavailable (pool 'orders' has no healthy backend"),
            std::string::npos) << out;
  EXPECT_NE(out.find("retry-after: 5"), std::string::npos) << out;
  EXPECT_EQ(out.find("the backend's"), std::string::npos) << out;
  ASSERT_EQ(detour("explain --json -c '" + cfg + "' GET https://shop.example.com/catalog "
                   "--pool-down orders", out), 0) << out;
  EXPECT_NE(out.find("\"status\":503,"), std::string::npos) << out;
  EXPECT_NE(out.find("\"pool\":\"orders\",\"retry_after\":5,\"reason\":\"pool 'orders' has no "
                     "healthy backend"), std::string::npos) << out;
  ASSERT_EQ(detour("explain --json -c '" + cfg + "' GET https://shop.example.com/catalog", out), 0);
  EXPECT_NE(out.find("\"status\":null,"), std::string::npos) << out;  // up: the backend answers
  TempDir dir;
  std::string cases = dir.write("cases.yaml", R"(- request: GET https://shop.example.com/catalog
  pools_down: [orders]
  expect: { rule: app, pool: orders, status: 503 }
- request: GET https://shop.example.com/catalog
  expect: { rule: app, status: forward }
- request: GET https://shop.example.com/catalog
  pools_down: [orders]
  expect: { status: forward }
)");
  EXPECT_EQ(detour("test -c '" + cfg + "' '" + cases + "'", out), 1) << out;
  EXPECT_NE(out.find(cases + ":6: case 3 (GET https://shop.example.com/catalog): status: "
                     "expected forward, got 503"), std::string::npos) << out;
  EXPECT_NE(out.find("3 case(s), 2 passed, 1 failed"), std::string::npos) << out;
}

// The raw text of a top-level field of a one-line JSON object: a string without its quotes,
// or a number, true/false, null; "" when absent. Enough for explain's and the access log's
// flat objects (no escapes in the values the tests compare).
std::string jsonField(const std::string& json, const std::string& key) {
  std::string needle = "\"" + key + "\":";
  size_t at = json.find(needle);
  if (at == std::string::npos) return "";
  at += needle.size();
  if (at < json.size() && json[at] == '"') {
    size_t end = json.find('"', at + 1);
    return json.substr(at + 1, end - at - 1);
  }
  size_t end = json.find_first_of(",}", at);
  return json.substr(at, end - at);
}

bool replaceOnce(std::string& text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  if (at == std::string::npos) return false;
  text.replace(at, from.size(), to);
  return true;
}

// The rule names of a config, in order (lines "  - name: X").
std::vector<std::string> ruleNames(const std::string& yaml) {
  std::vector<std::string> names;
  std::istringstream in(yaml);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("  - name: ", 0) == 0) names.push_back(line.substr(10));
  }
  return names;
}

// The contract's example config made to run here: loopback ports, the pool on two fake
// backends with quick health checks (so stopping them marks the pool down within a second;
// two failures in a row, so one slow probe on a loaded machine does not),
// and the Black Friday window moved over today.
std::string runnableContractConfig(const FakeBackend& b1, const FakeBackend& b2) {
  std::string cfg = readText(repoPath("config/examples/contract.yaml"));
  const std::pair<std::string, std::string> edits[] = {
      {"\"0.0.0.0:8080\"", "\"127.0.0.1:0\""},
      {"listen: \"127.0.0.1:9901\"", "listen: \"127.0.0.1:0\""},
      {"[\"127.0.0.1:9001\", \"127.0.0.1:9002\"]",
       "[\"" + b1.address() + "\", \"" + b2.address() + "\"]"},
      {"interval: 2s", "interval: 200ms"},
      {"timeout: 1s", "timeout: 150ms"},
      {"fall: 3", "fall: 2"},  // a stopped backend refuses at once: down within ~0.4 s
      {"rise: 2", "rise: 1"},
      {"from: \"2036-11-27T00:00:00Z\", until: \"2036-11-30T00:00:00Z\"",
       "from: \"2020-01-01T00:00:00Z\", until: \"2099-01-01T00:00:00Z\""},
  };
  for (const auto& [from, to] : edits) EXPECT_TRUE(replaceOnce(cfg, from, to)) << from;
  return cfg;
}

struct Probe {
  const char* scheme;  // https: sent with X-Forwarded-Proto from the trusted 127.0.0.1
  const char* method;
  const char* path;
  bool pool_down;      // explain gets --pool-down orders (the live pool is down by then)
};

// Sends `p` to explain and to the live server and compares rule, status, Location and
// Retry-After; the live rule comes from the access log line of the request. Returns the rule.
std::string compareExplainWithLive(const DetourProcess& d, const Probe& p, int n) {
  std::string url = std::string(p.scheme) + "://shop.example.com" + p.path;
  std::string out;
  EXPECT_EQ(runCommand("PAYMENTS_MAINTENANCE=true '" + detourBinary() + "' explain --json -c '" +
                           d.configPath() + "' " + p.method + " '" + url + "'" +
                           (p.pool_down ? " --pool-down orders" : ""), out), 0) << out;
  std::string id = "probe-" + std::to_string(n);
  std::string xfp = std::string(p.scheme) == "https" ? "X-Forwarded-Proto: https\r\n" : "";
  RawClient c(d.port());
  EXPECT_TRUE(c.send(std::string(p.method) + " " + p.path +
                     " HTTP/1.1\r\nHost: shop.example.com\r\n" + xfp + "X-Request-Id: " + id +
                     "\r\nContent-Length: 0\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(1));
  if (rs.size() != 1u) {
    ADD_FAILURE() << p.path << ": no answer";
    return "";
  }
  const HttpResponse& live = rs[0];
  std::string where = std::string(p.method) + " " + p.path + (p.pool_down ? " (pool down)" : "");
  std::string status = jsonField(out, "status");
  if (status == "null") {  // a forward: the backend answers
    EXPECT_EQ(jsonField(out, "action"), "forward") << where << " " << out;
    EXPECT_EQ(live.status, 200) << where;
    EXPECT_TRUE(live.hasHeader("X-Backend")) << where << ": not forwarded";
  } else {
    EXPECT_EQ(status, std::to_string(live.status)) << where << " " << out;
  }
  std::string location = jsonField(out, "location");
  EXPECT_EQ(location == "null" ? "" : location, live.header("Location")) << where << " " << out;
  std::string retry_after = jsonField(out, "retry_after");
  EXPECT_EQ(retry_after == "null" ? "" : retry_after, live.header("Retry-After"))
      << where << " " << out;
  std::string needle = "\"request_id\":\"" + id + "\"";
  EXPECT_TRUE(d.waitForStdout(needle, 5s)) << where;
  std::string log = d.stdoutText();
  size_t at = log.find(needle);
  std::string line = at == std::string::npos ? "" : log.substr(log.rfind('\n', at) + 1);
  line = line.substr(0, line.find('\n'));
  EXPECT_EQ(jsonField(out, "rule"), jsonField(line, "rule"))
      << where << "\n" << out << "\n" << line;
  return jsonField(out, "rule");
}

// explain and the live server agree on every example rule of the contract: the rule, status,
// Location and Retry-After; the failover and the 503 of a forward with the pool really down.
TEST(Cli, ExplainAgreesWithTheLiveServer) {
  FakeBackend b1("b1");
  FakeBackend b2("b2");
  DetourProcess d(runnableContractConfig(b1, b2), {"PAYMENTS_MAINTENANCE=true"});
  ASSERT_TRUE(d.ready());
  const Probe up[] = {
      {"http", "GET", "/api/v1/orders?x=1", false},   {"https", "POST", "/api/v1/orders?x=1", false},
      {"https", "PUT", "/api/v1/orders", false},      {"https", "GET", "/api/v1/users/3?a=b", false},
      {"https", "POST", "/api/payments/9", false},    {"https", "GET", "/checkout/cart?step=2", false},
      {"https", "GET", "/status", false},             {"https", "GET", "/api/v2/orders/7", false},
  };
  std::set<std::string> seen;
  int n = 0;
  for (const auto& p : up) seen.insert(compareExplainWithLive(d, p, ++n));
  // Both backends stop: the health checks mark the pool down.
  b1.stop();
  b2.stop();
  bool down = waitUntil([&] {
    return httpCall(d.adminPort(), "GET", "/pools").body.find("\"orders\":{\"down\":true") !=
           std::string::npos;
  }, 10s);
  ASSERT_TRUE(down) << httpCall(d.adminPort(), "GET", "/pools").body;
  const Probe pool_down[] = {
      {"https", "GET", "/api/v2/orders/7?page=2", true},  // orders-failover
      {"https", "GET", "/catalog", true},                 // app: 503, Retry-After
  };
  for (const auto& p : pool_down) seen.insert(compareExplainWithLive(d, p, ++n));
  std::vector<std::string> names = ruleNames(readText(repoPath("config/examples/contract.yaml")));
  EXPECT_EQ(names.size(), 8u);
  EXPECT_EQ(seen, std::set<std::string>(names.begin(), names.end()));
}

}  // namespace
}  // namespace detour::test

namespace detour::test {
namespace {

// `detour diff`: rule changes by name, and a replay of the access log a live detour wrote
// (json and combined) against both tables.
TEST(CliDiff, RuleChangesAndAReplayOfARealAccessLog) {
  TempDir dir;
  const std::string base = R"(version: 1
server: { listen: ["127.0.0.1:0"], workers: 1 }
log: { level: warn, access: { path: ACCESS, format: FORMAT } }
rules:
  - name: v1
    match: { path: /api/v1/orders, methods: [POST] }
    redirect: { to: /api/v2/orders }
  - name: status
    match: { path: /status }
    respond: { status: 200, body: "ok" }
  - name: old-only
    match: { path: /old }
    respond: { status: 410 }
)";
  auto replaceAll = [](std::string s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
      s.replace(at, from.size(), to);
    return s;
  };
  for (const char* format : {"json", "combined"}) {
    std::string log_path = dir.path() + "/access-" + format + ".log";
    std::string old_cfg = replaceAll(replaceAll(base, "ACCESS", log_path), "FORMAT", format);
    {
      DetourProcess d(old_cfg);
      ASSERT_TRUE(d.ready());
      for (int i = 0; i < 3; ++i) httpCall(d.port(), "POST", "/api/v1/orders?id=" + std::to_string(i % 2), "x");
      httpCall(d.port(), "GET", "/status");
      httpCall(d.port(), "GET", "/old");
      EXPECT_EQ(d.stop(), 0);  // drains; the access log is written out
    }
    std::string new_cfg = replaceAll(old_cfg, "to: /api/v2/orders", "to: /api/v3/orders");
    new_cfg = replaceAll(new_cfg, "  - name: old-only\n    match: { path: /old }\n    respond: { status: 410 }\n", "");
    std::string old_path = dir.write("old.yaml", old_cfg);
    std::string new_path = dir.write("new.yaml", new_cfg);
    std::string out;
    int rc = runCommand("'" + detourBinary() + "' diff -c '" + old_path + "' -c '" + new_path +
                            "' --replay '" + log_path + "' 2>&1", out);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("rules: 0 added, 1 removed, 1 edited, 0 moved"), std::string::npos) << out;
    EXPECT_NE(out.find("action: redirect 307 /api/v2/orders -> redirect 307 /api/v3/orders"), std::string::npos) << out;
    EXPECT_NE(out.find("replay: 5 line(s), 0 unreadable, 4 distinct request(s), 3 change outcome (4 request(s))"),
              std::string::npos) << format << "\n" << out;
    EXPECT_NE(out.find("2x POST http://127.0.0.1/api/v1/orders?id=0"), std::string::npos) << out;
    EXPECT_NE(out.find("old-only -> 410"), std::string::npos) << out;
    EXPECT_EQ(runCommand("'" + detourBinary() + "' diff --json -c '" + old_path + "' -c '" + old_path +
                             "' --replay '" + log_path + "'", out), 0) << out;
    EXPECT_NE(out.find("\"changed\":[]"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace detour::test
