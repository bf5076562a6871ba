// The command line of the real binary: check, explain (text and JSON) and test, and that
// `explain` agrees with the live server on every rule of the contract's example config.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/detour_process.h"
#include "support/raw_client.h"

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
  EXPECT_NE(out.find("unknown command 'explian'; did you mean 'explain'?"), std::string::npos) << out;
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

// explain and the live server give the same status and Location for every example rule.
TEST(Cli, ExplainAgreesWithTheLiveServer) {
  std::string cfg = readText(repoPath("config/examples/contract.yaml"));
  size_t at = cfg.find("\"0.0.0.0:8080\"");
  ASSERT_NE(at, std::string::npos);
  cfg.replace(at, 14, "\"127.0.0.1:0\"");
  DetourProcess d(cfg, {"PAYMENTS_MAINTENANCE=true"});
  ASSERT_TRUE(d.ready());
  struct Probe {
    const char* scheme;  // https: sent with X-Forwarded-Proto from the trusted 127.0.0.1
    const char* method;
    const char* path;
  };
  const Probe probes[] = {
      {"http", "GET", "/api/v1/orders?x=1"},   {"https", "POST", "/api/v1/orders?x=1"},
      {"https", "GET", "/api/v1/users/3?a=b"}, {"https", "POST", "/api/payments/9"},
      {"https", "GET", "/status"},             {"https", "PUT", "/api/v1/orders"},
  };
  for (const auto& p : probes) {
    std::string url = std::string(p.scheme) + "://shop.example.com" + p.path;
    std::string xfp = std::string(p.scheme) == "https" ? "X-Forwarded-Proto: https\r\n" : "";
    std::string out;
    ASSERT_EQ(runCommand("PAYMENTS_MAINTENANCE=true '" + detourBinary() + "' explain --json -c '" +
                             d.configPath() + "' " + p.method + " '" + url + "'", out), 0) << out;
    RawClient c(d.port());
    ASSERT_TRUE(c.send(std::string(p.method) + " " + p.path +
                       " HTTP/1.1\r\nHost: shop.example.com\r\n" + xfp +
                       "Content-Length: 0\r\n\r\n"));
    auto rs = parseResponses(c.readResponses(1));
    ASSERT_EQ(rs.size(), 1u) << p.path;
    EXPECT_NE(out.find("\"status\":" + std::to_string(rs[0].status)), std::string::npos)
        << p.path << " " << out;
    if (rs[0].hasHeader("Location")) {
      EXPECT_NE(out.find("\"location\":\"" + rs[0].header("Location") + "\""), std::string::npos)
          << p.path << " " << out;
    }
  }
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
