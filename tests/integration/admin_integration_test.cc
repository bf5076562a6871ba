// Health checks, failover, runtime flags and the admin API, against the live binary with
// test-owned backends that the tests stop and restart.

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <memory>
#include <set>
#include <thread>

#include "support/detour_process.h"
#include "support/fake_backend.h"
#include "support/raw_client.h"
#include "support/wait.h"

namespace detour::test {
namespace {

using namespace std::chrono_literals;

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

const char* kAdminConfig = R"(version: 1
server:
  listen: ["127.0.0.1:0"]
  workers: 2
  timeouts: { upstream_connect: 500ms, upstream_response: 2s }
admin:
  listen: "127.0.0.1:0"
log: { level: info, access: off }
flags:
  maint: { default: false }
pools:
  orders:
    backends: ["B1", "B2"]
    health: { path: /healthz, interval: 200ms, timeout: 200ms, fall: 2, rise: 2 }
rules:
  - name: orders-failover
    match: { path_prefix: /api/v2/orders }
    when: { pool_down: orders }
    redirect: { to: "https://backup.example.com{uri}" }
  - name: maint
    match: { path_prefix: /api/payments }
    when: { flag: maint }
    redirect: { to: "https://backup.example.com{uri}", retry_after: 60 }
  - name: legacy-302
    match: { path: /legacy }
    redirect: { to: /api/v2/new, code: 302 }
  - name: orders-v1-moved
    match: { path: /api/v1/orders }
    redirect: { to: /api/v2/orders, code: 307 }
  - name: orders
    match: { path_prefix: /api/ }
    forward: { pool: orders }
)";

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    b1_ = std::make_unique<FakeBackend>("b1");
    b2_ = std::make_unique<FakeBackend>("b2");
    b1_port_ = b1_->port();
    std::string cfg = replaceAll(kAdminConfig, "B1", b1_->address());
    cfg = replaceAll(cfg, "B2", b2_->address());
    detour_ = std::make_unique<DetourProcess>(cfg, std::vector<std::string>{}, 10s,
                                              std::vector<std::string>{"--no-watch"});
    ASSERT_TRUE(detour_->ready());
    ASSERT_GT(detour_->adminPort(), 0);
  }
  // kAdminConfig with B1/B2 replaced by these backend addresses (a backend list of one or two).
  std::string configFor(const std::string& backends) {
    return replaceAll(kAdminConfig, "[\"B1\", \"B2\"]", "[" + backends + "]");
  }
  // Writes `yaml` as the config, sends SIGHUP and waits for the reload to be logged.
  ::testing::AssertionResult reloadWith(const std::string& yaml) {
    detour_->dir().write("detour.yaml", yaml);
    detour_->signal(SIGHUP);
    ++generation_;
    if (detour_->waitForStderr("generation " + std::to_string(generation_) + ",", 5s)) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "no generation " << generation_ << ":\n"
                                         << detour_->stderrText();
  }
  // The /pools JSON object of one backend ("{...}"), or "" when absent.
  std::string backendJson(const std::string& address) {
    std::string body = admin("/pools").body;
    size_t at = body.find("{\"backend\":\"" + address + "\"");
    if (at == std::string::npos) return "";
    return body.substr(at, body.find('}', at) + 1 - at);
  }
  int generation_ = 1;
  HttpResponse get(const std::string& path, const std::string& method = "GET",
                   const std::string& body = "") {
    return httpCall(detour_->port(), method, path, body);
  }
  HttpResponse admin(const std::string& path, const std::string& method = "GET",
                     const std::string& body = "", const std::string& headers = "") {
    return httpCall(detour_->adminPort(), method, path, body, headers);
  }
  bool poolsSay(const std::string& needle) {
    return admin("/pools").body.find(needle) != std::string::npos;
  }
  std::unique_ptr<FakeBackend> b1_, b2_;
  int b1_port_ = 0;
  std::unique_ptr<DetourProcess> detour_;
};

TEST_F(AdminTest, HealthzReadyzAndBasics) {
  EXPECT_EQ(admin("/healthz").status, 200);
  EXPECT_EQ(admin("/readyz").status, 200);
  EXPECT_EQ(admin("/nope").status, 404);
  auto flags = admin("/flags");
  EXPECT_EQ(flags.status, 200);
  EXPECT_EQ(flags.body, "{\"maint\":false}\n");
  auto page = admin("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<title>detour admin</title>"), std::string::npos);
  // The traffic port does not serve the admin API.
  EXPECT_EQ(get("/healthz").status, 404);
}

TEST_F(AdminTest, ABackendGoingDownTakesNoTrafficAndComesBack) {
  // Both backends get traffic while up.
  std::set<std::string> seen;
  for (int i = 0; i < 10; ++i) seen.insert(get("/api/x").header("X-Backend"));
  EXPECT_EQ(seen, (std::set<std::string>{"b1", "b2"}));

  b1_->stop();  // within fall x interval (2 x 200ms) it is marked down
  ASSERT_TRUE(waitUntil([&] { return poolsSay("\"backend\":\"" + b1_->address() + "\"") &&
                                      poolsSay("\"state\":\"down\""); }, 3s))
      << admin("/pools").body;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(get("/api/x").header("X-Backend"), "b2");

  // All down: the pool_down rule's redirect carries the original URI; other paths get 503.
  b2_->stop();
  ASSERT_TRUE(waitUntil([&] { return poolsSay("\"down\":true"); }, 3s)) << admin("/pools").body;
  auto r = get("/api/v2/orders/7?x=1");
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(r.header("Location"), "https://backup.example.com/api/v2/orders/7?x=1");
  auto none = get("/api/other");
  EXPECT_EQ(none.status, 503);
  EXPECT_FALSE(none.header("Retry-After").empty());

  // One comes back: after rise x interval it gets traffic again and the pool is up.
  b1_ = std::make_unique<FakeBackend>("b1", b1_port_);
  ASSERT_TRUE(waitUntil([&] { return get("/api/x").header("X-Backend") == "b1"; }, 3s));
  EXPECT_TRUE(poolsSay("\"down\":false"));
  EXPECT_EQ(get("/api/v2/orders/7").status, 200);  // forwarded again, no failover
  auto metrics = admin("/metrics").body;
  EXPECT_NE(metrics.find("detour_backend_up{pool=\"orders\",backend=\"" + b1_->address() + "\"} 1"),
            std::string::npos) << metrics;
  EXPECT_NE(metrics.find("detour_pool_down{pool=\"orders\"} 0"), std::string::npos);
}

TEST_F(AdminTest, FlagFlipsTheMaintenanceRedirectWithoutRestart) {
  EXPECT_EQ(get("/api/payments/1").status, 200);  // forwarded
  auto put = admin("/flags/maint", "PUT", "true");
  EXPECT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(admin("/flags").body, "{\"maint\":true}\n");
  // Every worker sees it at once (two workers, several connections).
  for (int i = 0; i < 6; ++i) {
    auto r = get("/api/payments/1?i=" + std::to_string(i));
    EXPECT_EQ(r.status, 307);
    EXPECT_EQ(r.header("Retry-After"), "60");
  }
  EXPECT_EQ(admin("/flags/maint", "PUT", "false").status, 200);
  EXPECT_EQ(get("/api/payments/1").status, 200);
  EXPECT_EQ(admin("/flags/nope", "PUT", "true").status, 404);
  EXPECT_EQ(admin("/flags/maint", "PUT", "yes").status, 400);
  ASSERT_TRUE(detour_->waitForStderr("flag maint set false -> true by admin client 127.0.0.1:", 5s))
      << detour_->stderrText();
  auto metrics = admin("/metrics").body;
  EXPECT_NE(metrics.find("detour_flag_changes_total{flag=\"maint\"} 2"), std::string::npos) << metrics;
}

TEST_F(AdminTest, FlagValueSurvivesAReload) {
  ASSERT_EQ(admin("/flags/maint", "PUT", "true").status, 200);
  detour_->signal(SIGHUP);
  ASSERT_TRUE(detour_->waitForStderr("generation 2", 5s));
  EXPECT_EQ(admin("/flags").body, "{\"maint\":true}\n");
  EXPECT_EQ(get("/api/payments/1").status, 307);
}

// A reload that fails (here: a listen address this host does not have) changes nothing live,
// flag values included, even though the new file's flag defaults are valid.
TEST_F(AdminTest, AFailedReloadChangesNoFlag) {
  std::string cfg = configFor("\"" + b1_->address() + "\", \"" + b2_->address() + "\"");
  std::string bad = replaceAll(cfg, "maint: { default: false }", "maint: { default: true }");
  bad = replaceAll(bad, "listen: [\"127.0.0.1:0\"]", "listen: [\"127.0.0.1:0\", \"192.0.2.99:18080\"]");
  detour_->dir().write("detour.yaml", bad);
  detour_->signal(SIGHUP);
  ASSERT_TRUE(detour_->waitForStderr("reload failed", 5s)) << detour_->stderrText();
  EXPECT_NE(detour_->stderrText().find("still serving generation 1"), std::string::npos);
  EXPECT_EQ(admin("/flags").body, "{\"maint\":false}\n");
  EXPECT_EQ(get("/api/payments/1").status, 200);  // forwarded: no maintenance redirect
  // The same defaults in a file that loads: now they apply.
  ASSERT_TRUE(reloadWith(replaceAll(cfg, "maint: { default: false }", "maint: { default: true }")));
  EXPECT_EQ(admin("/flags").body, "{\"maint\":true}\n");
  EXPECT_EQ(get("/api/payments/1").status, 307);
}

// A backend removed while down and added again later (now healthy) gets traffic again.
TEST_F(AdminTest, ABackendRemovedWhileDownAndAddedBackGetsTraffic) {
  b1_->stop();
  ASSERT_TRUE(waitUntil([&] { return backendJson(b1_->address()).find("\"state\":\"down\"") !=
                                      std::string::npos; }, 3s)) << admin("/pools").body;
  std::string b1 = "\"127.0.0.1:" + std::to_string(b1_port_) + "\"";
  std::string b2 = "\"" + b2_->address() + "\"";
  ASSERT_TRUE(reloadWith(configFor(b2)));
  EXPECT_EQ(backendJson("127.0.0.1:" + std::to_string(b1_port_)), "");
  b1_ = std::make_unique<FakeBackend>("b1", b1_port_);
  ASSERT_TRUE(reloadWith(configFor(b1 + ", " + b2)));
  EXPECT_TRUE(waitUntil([&] { return get("/api/x").header("X-Backend") == "b1"; }, 3s))
      << admin("/pools").body;
  std::set<std::string> seen;
  for (int i = 0; i < 10; ++i) seen.insert(get("/api/x").header("X-Backend"));
  EXPECT_EQ(seen, (std::set<std::string>{"b1", "b2"})) << admin("/pools").body;
}

// Health state survives a reload for backends that stay: a down backend is still down (same
// state, same last change) right after the reload, and gets no traffic.
TEST_F(AdminTest, ADownBackendStaysDownAcrossAReload) {
  b1_->stop();
  ASSERT_TRUE(waitUntil([&] { return backendJson(b1_->address()).find("\"state\":\"down\"") !=
                                      std::string::npos; }, 3s)) << admin("/pools").body;
  std::string before = backendJson(b1_->address());
  size_t change = before.find("\"last_change_ms\":");
  ASSERT_NE(change, std::string::npos) << before;
  std::string transitions_before = admin("/metrics").body;
  // A real change (one more rule) keeps both backends.
  std::string cfg = configFor("\"" + b1_->address() + "\", \"" + b2_->address() + "\"");
  ASSERT_TRUE(reloadWith(replaceAll(cfg, "rules:\n", "rules:\n  - name: extra\n    match: { path: /extra }\n    respond: { status: 204 }\n")));
  EXPECT_EQ(get("/extra").status, 204);
  std::string after = backendJson(b1_->address());
  EXPECT_NE(after.find("\"state\":\"down\""), std::string::npos) << after;
  EXPECT_EQ(after.substr(after.find("\"last_change_ms\":")), before.substr(change)) << before << "\n" << after;
  for (int i = 0; i < 6; ++i) EXPECT_EQ(get("/api/x").header("X-Backend"), "b2");
  auto transitions = [](const std::string& metrics) {
    size_t at = metrics.find("\ndetour_backend_state_changes_total ");
    return at == std::string::npos ? std::string("?") : metrics.substr(at, metrics.find('\n', at + 1) - at);
  };
  EXPECT_EQ(transitions(admin("/metrics").body), transitions(transitions_before));
}

TEST_F(AdminTest, BodiesAtRiskCountA302ButNotA307) {
  auto before = admin("/metrics").body;
  EXPECT_NE(before.find("detour_bodies_at_risk_total{rule=\"legacy-302\"} 0"), std::string::npos);
  EXPECT_EQ(get("/legacy", "POST", "a=1").status, 302);
  EXPECT_EQ(get("/api/v1/orders", "POST", "a=1").status, 307);
  EXPECT_EQ(get("/legacy", "GET").status, 302);  // a GET has no body to lose
  auto m = admin("/metrics").body;
  EXPECT_NE(m.find("detour_bodies_at_risk_total{rule=\"legacy-302\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("detour_bodies_at_risk_total{rule=\"orders-v1-moved\"} 0"), std::string::npos) << m;
  EXPECT_NE(m.find("detour_requests_total{rule=\"legacy-302\",status=\"302\"} 2"), std::string::npos) << m;
  EXPECT_NE(m.find("detour_redirects_total{code=\"307\"} 1"), std::string::npos) << m;
  auto rules = admin("/rules").body;
  EXPECT_NE(rules.find("\"name\":\"legacy-302\",\"line\":"), std::string::npos) << rules;
  EXPECT_NE(rules.find("\"hits\":2,\"bodies_at_risk\":1"), std::string::npos) << rules;
}

TEST_F(AdminTest, MetricsPassPromtool) {
  get("/api/x");
  get("/legacy", "POST", "x");
  std::string path = detour_->dir().write("metrics.txt", admin("/metrics").body);
  std::string out;
  int rc = runCommand("promtool check metrics < '" + path + "' 2>&1", out);
  EXPECT_EQ(rc, 0) << out;
}

// Passive checks: a pool without `health:`. After `fall` (3, the passive default) failed
// requests the backend is down in /pools and requests get 503 with Retry-After.
std::string passiveConfig(const std::string& backend) {
  return R"(version: 1
server:
  listen: ["127.0.0.1:0"]
  workers: 2
  timeouts: { upstream_connect: 500ms, upstream_response: 2s }
admin:
  listen: "127.0.0.1:0"
log: { level: info, access: off }
pools:
  solo:
    backends: [")" + backend + R"("]
rules:
  - name: solo
    forward: { pool: solo }
)";
}

// The state of the only backend in /pools: "up" or "down" (or "" when absent).
std::string soloState(const DetourProcess& d) {
  std::string body = httpCall(d.adminPort(), "GET", "/pools").body;
  size_t at = body.find("\"state\":\"");
  return at == std::string::npos ? "" : body.substr(at + 9, body.find('"', at + 9) - at - 9);
}

TEST(PassiveHealth, ConnectFailuresMarkTheBackendDownAndRequestsGet503) {
  int port = 0;
  {
    FakeBackend gone("gone");
    port = gone.port();
  }  // nothing listens there now: every connect is refused
  DetourProcess d(passiveConfig("127.0.0.1:" + std::to_string(port)), {}, 10s, {"--no-watch"});
  ASSERT_TRUE(d.ready());
  for (int i = 0; i < 2; ++i) EXPECT_EQ(httpCall(d.port(), "GET", "/a").status, 502) << i;
  ASSERT_TRUE(waitUntil([&] {
    return httpCall(d.adminPort(), "GET", "/pools").body.find("\"consecutive_failures\":2") !=
           std::string::npos;
  }, 3s)) << httpCall(d.adminPort(), "GET", "/pools").body;
  EXPECT_EQ(soloState(d), "up");  // two failures: not yet
  EXPECT_EQ(httpCall(d.port(), "GET", "/a").status, 502);
  ASSERT_TRUE(waitUntil([&] { return soloState(d) == "down"; }, 3s))
      << httpCall(d.adminPort(), "GET", "/pools").body;
  auto r = httpCall(d.port(), "GET", "/a");
  EXPECT_EQ(r.status, 503);
  EXPECT_FALSE(r.header("Retry-After").empty());
  EXPECT_NE(httpCall(d.adminPort(), "GET", "/metrics").body.find("detour_pool_down{pool=\"solo\"} 1"),
            std::string::npos);
}

TEST(PassiveHealth, MalformedResponsesMarkTheBackendDown) {
  FakeBackend broken("broken");
  DetourProcess d(passiveConfig(broken.address()), {}, 10s, {"--no-watch"});
  ASSERT_TRUE(d.ready());
  EXPECT_EQ(httpCall(d.port(), "GET", "/fine").status, 200);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(httpCall(d.port(), "GET", "/garbage").status, 502) << i;
  ASSERT_TRUE(waitUntil([&] { return soloState(d) == "down"; }, 3s))
      << httpCall(d.adminPort(), "GET", "/pools").body;
  size_t seen = broken.requestCount();
  auto r = httpCall(d.port(), "GET", "/fine");  // the backend would answer, but it is down
  EXPECT_EQ(r.status, 503);
  EXPECT_FALSE(r.header("Retry-After").empty());
  EXPECT_EQ(broken.requestCount(), seen);
}

// Health checks run once per process, not once per worker: with two workers and a 100 ms
// interval the backend sees about ten probes a second, not twenty.
TEST(ActiveHealth, ChecksRunOncePerProcess) {
  FakeBackend b("b");
  std::string cfg = replaceAll(passiveConfig(b.address()), "    backends: [",
                               "    health: { path: /healthz, interval: 100ms, timeout: 100ms }\n    backends: [");
  DetourProcess d(cfg, {}, 10s, {"--no-watch"});
  ASSERT_TRUE(d.ready());
  ASSERT_TRUE(b.waitForRequests(1, 5s));
  auto probes = [&] {
    size_t n = 0;
    for (const auto& r : b.requests()) n += r.target == "/healthz";
    return n;
  };
  size_t start = probes();
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(2s);  // a measuring window, not a wait for readiness
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  size_t n = probes() - start;
  double expected = secs / 0.1;
  EXPECT_LE(static_cast<double>(n), expected * 1.4) << n << " probes in " << secs << " s";
  EXPECT_GE(static_cast<double>(n), expected * 0.3) << n << " probes in " << secs << " s";
}

TEST(AdminAuth, WritesNeedTheBearerTokenWhenConfigured) {
  std::string cfg = replaceAll(kAdminConfig, "admin:\n  listen: \"127.0.0.1:0\"",
                               "admin:\n  listen: \"127.0.0.1:0\"\n  token_env: DETOUR_TEST_TOKEN");
  cfg = replaceAll(cfg, "B1", "127.0.0.1:9");
  cfg = replaceAll(cfg, "B2", "127.0.0.1:7");
  DetourProcess d(cfg, {"DETOUR_TEST_TOKEN=s3cret"});
  ASSERT_TRUE(d.ready());
  EXPECT_EQ(httpCall(d.adminPort(), "PUT", "/flags/maint", "true").status, 401);
  EXPECT_EQ(httpCall(d.adminPort(), "PUT", "/flags/maint", "true", "Authorization: Bearer nope\r\n").status, 401);
  EXPECT_EQ(httpCall(d.adminPort(), "PUT", "/flags/maint", "true", "Authorization: Bearer s3cret\r\n").status, 200);
  EXPECT_EQ(httpCall(d.adminPort(), "GET", "/flags").body, "{\"maint\":true}\n");
}

// admin.token_env names a variable that is not set: every write is refused, at start and
// after a reload alike (a reload must not fall back to "no token", which allows loopback writes).
TEST(AdminAuth, AnUnsetTokenVariableRefusesWritesAlsoAfterAReload) {
  std::string cfg = replaceAll(kAdminConfig, "admin:\n  listen: \"127.0.0.1:0\"",
                               "admin:\n  listen: \"127.0.0.1:0\"\n  token_env: DETOUR_TEST_TOKEN_NEVER_SET");
  cfg = replaceAll(cfg, "B1", "127.0.0.1:9");
  cfg = replaceAll(cfg, "B2", "127.0.0.1:7");
  ASSERT_EQ(std::getenv("DETOUR_TEST_TOKEN_NEVER_SET"), nullptr);
  DetourProcess d(cfg, {}, 10s, {"--no-watch"});
  ASSERT_TRUE(d.ready());
  auto put = httpCall(d.adminPort(), "PUT", "/flags/maint", "true");
  EXPECT_EQ(put.status, 403) << put.body;
  EXPECT_NE(put.body.find("not set"), std::string::npos) << put.body;
  d.signal(SIGHUP);
  ASSERT_TRUE(d.waitForStderr("generation 2", 5s)) << d.stderrText();
  EXPECT_EQ(httpCall(d.adminPort(), "PUT", "/flags/maint", "true").status, 403);
  EXPECT_EQ(httpCall(d.adminPort(), "PUT", "/flags/maint", "true", "Authorization: Bearer \r\n").status, 403);
  EXPECT_EQ(httpCall(d.adminPort(), "GET", "/flags").body, "{\"maint\":false}\n");
}

// A set token keeps working after a reload (the reload re-reads it).
TEST(AdminAuth, TheTokenStillGuardsWritesAfterAReload) {
  std::string cfg = replaceAll(kAdminConfig, "admin:\n  listen: \"127.0.0.1:0\"",
                               "admin:\n  listen: \"127.0.0.1:0\"\n  token_env: DETOUR_TEST_TOKEN");
  cfg = replaceAll(cfg, "B1", "127.0.0.1:9");
  cfg = replaceAll(cfg, "B2", "127.0.0.1:7");
  DetourProcess d(cfg, {"DETOUR_TEST_TOKEN=s3cret"}, 10s, {"--no-watch"});
  ASSERT_TRUE(d.ready());
  d.signal(SIGHUP);
  ASSERT_TRUE(d.waitForStderr("generation 2", 5s)) << d.stderrText();
  EXPECT_EQ(httpCall(d.adminPort(), "PUT", "/flags/maint", "true").status, 401);
  EXPECT_EQ(httpCall(d.adminPort(), "PUT", "/flags/maint", "true", "Authorization: Bearer s3cret\r\n").status, 200);
}

// No token and an admin address that is not loopback: writes are refused even from loopback.
TEST(AdminAuth, NoTokenAndANonLoopbackAdminAddressRefusesWrites) {
  std::string cfg = replaceAll(kAdminConfig, "admin:\n  listen: \"127.0.0.1:0\"",
                               "admin:\n  listen: \"0.0.0.0:0\"");
  cfg = replaceAll(cfg, "B1", "127.0.0.1:9");
  cfg = replaceAll(cfg, "B2", "127.0.0.1:7");
  DetourProcess d(cfg, {}, 10s, {"--no-watch"});
  ASSERT_TRUE(d.ready());
  auto put = httpCall(d.adminPort(), "PUT", "/flags/maint", "true");  // reached via 127.0.0.1
  EXPECT_EQ(put.status, 403) << put.body;
  EXPECT_NE(put.body.find("token_env"), std::string::npos) << put.body;
  EXPECT_EQ(httpCall(d.adminPort(), "GET", "/flags").body, "{\"maint\":false}\n");
  EXPECT_EQ(httpCall(d.adminPort(), "GET", "/healthz").status, 200);  // reads are fine
}

}  // namespace
}  // namespace detour::test
