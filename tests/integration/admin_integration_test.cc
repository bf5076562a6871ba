// Health checks, failover, runtime flags and the admin API, against the live binary with
// test-owned backends that the tests stop and restart.

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <set>
#include <thread>

#include "support/detour_process.h"
#include "support/fake_backend.h"
#include "support/raw_client.h"

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

// Polls `pred` until it holds or `timeout` passes.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    b1_ = std::make_unique<FakeBackend>("b1");
    b2_ = std::make_unique<FakeBackend>("b2");
    b1_port_ = b1_->port();
    std::string cfg = replaceAll(kAdminConfig, "B1", b1_->address());
    cfg = replaceAll(cfg, "B2", b2_->address());
    detour_ = std::make_unique<DetourProcess>(cfg);
    ASSERT_TRUE(detour_->ready());
    ASSERT_GT(detour_->adminPort(), 0);
  }
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
  ASSERT_TRUE(eventually([&] { return poolsSay("\"backend\":\"" + b1_->address() + "\"") &&
                                      poolsSay("\"state\":\"down\""); }, 3s))
      << admin("/pools").body;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(get("/api/x").header("X-Backend"), "b2");

  // All down: the pool_down rule's redirect carries the original URI; other paths get 503.
  b2_->stop();
  ASSERT_TRUE(eventually([&] { return poolsSay("\"down\":true"); }, 3s)) << admin("/pools").body;
  auto r = get("/api/v2/orders/7?x=1");
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(r.header("Location"), "https://backup.example.com/api/v2/orders/7?x=1");
  auto none = get("/api/other");
  EXPECT_EQ(none.status, 503);
  EXPECT_FALSE(none.header("Retry-After").empty());

  // One comes back: after rise x interval it gets traffic again and the pool is up.
  b1_ = std::make_unique<FakeBackend>("b1", b1_port_);
  ASSERT_TRUE(eventually([&] { return get("/api/x").header("X-Backend") == "b1"; }, 3s));
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

}  // namespace
}  // namespace detour::test
