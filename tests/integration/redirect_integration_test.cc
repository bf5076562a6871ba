// Black-box tests of the real detour binary answering redirect and respond rules itself:
// exact bytes over raw sockets, keep-alive, pipelining, HTTP/1.0, Expect, limits, timeouts,
// the access log, and curl following redirects.

#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "support/detour_process.h"
#include "support/fake_backend.h"
#include "support/raw_client.h"
#include "support/wait.h"

namespace detour::test {
namespace {

using namespace std::chrono_literals;

const char* kConfig = R"(version: 1
server:
  listen: ["127.0.0.1:0"]
  workers: 1
  timeouts: { header: 1s, idle: 3s }
  limits: { max_header_bytes: 4096, max_body_bytes: 100 }
log:
  level: debug
  access: { path: stdout, format: json }
flags:
  maint: { default: false, env: DETOUR_TEST_MAINT }
pools:
  orders: { backends: ["127.0.0.1:9"] }
rules:
  - name: https-upgrade
    match: { host: secure.example.com, scheme: http }
    redirect: { to: "https://{host}{uri}" }
  - name: orders-v1-moved
    match: { path: /api/v1/orders, methods: [POST, PUT, DELETE] }
    redirect: { to: /api/v2/orders, code: 307 }
  - name: api-v1-prefix
    match: { path_prefix: /api/v1/ }
    redirect: { to: "/api/v2/{path_suffix}" }
  - name: legacy-302
    match: { path: /legacy }
    redirect: { to: /status, code: 302 }
  - name: legacy-301
    match: { path: /legacy-301 }
    redirect: { to: /status, code: 301 }
  - name: legacy-303
    match: { path: /legacy-303 }
    redirect: { to: /status, code: 303 }
  - name: moved-308
    match: { path: /moved-308 }
    redirect: { to: /status, code: 308 }
  - name: maint
    match: { path_prefix: /api/payments }
    when: { flag: maint }
    redirect: { to: "https://backup.example.com{uri}", retry_after: 120 }
  - name: status
    match: { path: /status }
    respond: { status: 200, body: "ok\n", headers: { Content-Type: text/plain } }
  - name: app
    match: { path_prefix: /app }
    forward: { pool: orders }
)";

// Replaces the Date header's value so responses can be compared byte for byte.
std::string maskDate(std::string raw) {
  size_t at = raw.find("\r\nDate: ");
  if (at == std::string::npos) return raw;
  size_t end = raw.find("\r\n", at + 2);
  return raw.replace(at, end - at, "\r\nDate: *");
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

class RedirectServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { detour_ = new DetourProcess(kConfig); }
  static void TearDownTestSuite() {
    delete detour_;
    detour_ = nullptr;
  }
  int port() const { return detour_->port(); }
  static DetourProcess* detour_;
};
DetourProcess* RedirectServerTest::detour_ = nullptr;

TEST_F(RedirectServerTest, Answers307WithExactBytes) {
  ASSERT_TRUE(detour_->ready());
  RawClient c(port());
  ASSERT_TRUE(c.send("POST /api/v1/orders HTTP/1.1\r\nHost: shop.example.com\r\n"
                     "Content-Length: 5\r\n\r\nhello"));
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(maskDate(rs[0].raw),
            "HTTP/1.1 307 Temporary Redirect\r\n"
            "Location: /api/v2/orders\r\n"
            "Cache-Control: no-cache\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 30\r\n"
            "Date: *\r\n"
            "\r\n"
            "Redirecting to /api/v2/orders\n");
  // The small body was read and dropped: the connection serves the next request.
  ASSERT_TRUE(c.send("GET /status HTTP/1.1\r\nHost: shop.example.com\r\n\r\n"));
  rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 200);
  EXPECT_EQ(rs[0].body, "ok\n");
  EXPECT_FALSE(c.peerClosed());
}

TEST_F(RedirectServerTest, HttpsUpgradeKeepsHostPathAndQuery) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: Secure.Example.com:8080\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 307);
  EXPECT_EQ(rs[0].header("Location"), "https://secure.example.com/a/b?x=1&y=%20");
}

TEST_F(RedirectServerTest, PrefixRedirectAppendsTheQuery) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /api/v1/users/7?page=2 HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].header("Location"), "/api/v2/users/7?page=2");
}

TEST_F(RedirectServerTest, EncodedCrLfNeverBecomesAHeaderBreak) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /api/v1/x%0D%0ASet-Cookie:%20a=b HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].header("Location"), "/api/v2/x%0D%0ASet-Cookie:%20a=b");
  EXPECT_FALSE(rs[0].hasHeader("Set-Cookie"));
}

TEST_F(RedirectServerTest, PipelinedRequestsAreAnsweredInOrder) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /api/v1/one HTTP/1.1\r\nHost: a\r\n\r\n"
                     "GET /status HTTP/1.1\r\nHost: a\r\n\r\n"
                     "GET /nothing-here HTTP/1.1\r\nHost: a\r\n\r\n"
                     "HEAD /api/v1/four HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(4, 5s, {3}), {3});
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(rs[0].header("Location"), "/api/v2/one");
  EXPECT_EQ(rs[1].body, "ok\n");
  EXPECT_EQ(rs[2].status, 404);
  EXPECT_EQ(rs[3].status, 307);
  EXPECT_EQ(rs[3].header("Location"), "/api/v2/four");
  EXPECT_EQ(rs[3].body, "");  // HEAD: headers only
  EXPECT_EQ(rs[3].header("Content-Length"), "28");
}

TEST_F(RedirectServerTest, Http10ClosesUnlessKeepAliveIsAsked) {
  {
    RawClient c(port());
    ASSERT_TRUE(c.send("GET /status HTTP/1.0\r\n\r\n"));
    std::string raw = c.readAll();
    EXPECT_TRUE(c.peerClosed());
    auto rs = parseResponses(raw);
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].header("Connection"), "close");
  }
  {
    RawClient c(port());
    ASSERT_TRUE(c.send("GET /status HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto rs = parseResponses(c.readResponses(1));
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].header("Connection"), "keep-alive");
    ASSERT_TRUE(c.send("GET /status HTTP/1.0\r\n\r\n"));
    EXPECT_EQ(parseResponses(c.readAll()).size(), 1u);
    EXPECT_TRUE(c.peerClosed());
  }
}

TEST_F(RedirectServerTest, ExpectContinueGetsTheRedirectWithoutContinue) {
  RawClient c(port());
  ASSERT_TRUE(c.send("POST /api/v1/orders HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                     "Content-Length: 1000000\r\n\r\n"));
  std::string raw = c.readAll();
  EXPECT_EQ(raw.find("100 Continue"), std::string::npos);
  auto rs = parseResponses(raw);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 307);
  EXPECT_EQ(rs[0].header("Connection"), "close");  // the body it would owe never comes
  EXPECT_TRUE(c.peerClosed());
}

TEST_F(RedirectServerTest, BodyLimitNeverPreemptsARedirect) {
  // max_body_bytes is 100; the redirect is decided on the head alone.
  RawClient c(port());
  std::string body(20000, 'x');
  ASSERT_TRUE(c.send("POST /api/v1/orders HTTP/1.1\r\nHost: a\r\nContent-Length: 20000\r\n\r\n" +
                     body + "GET /status HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(2));
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].status, 307);
  EXPECT_FALSE(rs[0].hasHeader("Connection"));  // a small body is dropped, the connection kept
  EXPECT_EQ(rs[1].status, 200);
}

TEST_F(RedirectServerTest, LargeBodyGetsConnectionCloseAndTheAnswerStillArrives) {
  RawClient c(port());
  ASSERT_TRUE(c.send("PUT /api/v1/orders HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n"));
  ASSERT_TRUE(c.send(std::string(300000, 'y')));  // keeps sending while detour answers
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 307);
  EXPECT_EQ(rs[0].header("Connection"), "close");
  c.send(std::string(300000, 'y'));  // lingering close reads and drops this; no reset needed
  EXPECT_TRUE(c.waitClosed(10s));
}

TEST_F(RedirectServerTest, ChunkedBodyAlreadyBufferedKeepsTheConnection) {
  RawClient c(port());
  ASSERT_TRUE(c.send("POST /api/v1/orders HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n0\r\n\r\nGET /status HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(2));
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].status, 307);
  EXPECT_EQ(rs[1].status, 200);
}

struct BadRequestCase {
  const char* name;
  std::string raw;
  int status;
};

void PrintTo(const BadRequestCase& c, std::ostream* os) { *os << c.name; }

class BadRequestTest : public RedirectServerTest,
                       public ::testing::WithParamInterface<BadRequestCase> {};

TEST_P(BadRequestTest, GetsItsStatusAndTheConnectionCloses) {
  RawClient c(port());
  ASSERT_TRUE(c.send(GetParam().raw));
  std::string raw = c.readAll();
  auto rs = parseResponses(raw);
  ASSERT_GE(rs.size(), 1u) << raw;
  EXPECT_EQ(rs[0].status, GetParam().status) << raw;
  EXPECT_EQ(rs[0].header("Connection"), "close");
  EXPECT_TRUE(c.peerClosed());
}

INSTANTIATE_TEST_SUITE_P(
    Framing, BadRequestTest,
    ::testing::Values(
        BadRequestCase{"cl_te", "POST /status HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG", 400},
        BadRequestCase{"two_cl", "POST /status HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
        BadRequestCase{"unknown_te", "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        BadRequestCase{"obs_fold", "GET /x HTTP/1.1\r\nHost: a\r\nX: 1\r\n Content-Length: 5\r\n\r\n", 400},
        BadRequestCase{"no_host", "GET /x HTTP/1.1\r\n\r\n", 400},
        BadRequestCase{"two_hosts", "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        BadRequestCase{"bad_host", "GET /x HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
        BadRequestCase{"long_uri", "GET /" + std::string(5000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
        BadRequestCase{"big_head", "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(5000, 'a') + "\r\n\r\n", 431},
        BadRequestCase{"http2_preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
        BadRequestCase{"absolute_form_host_mismatch", "GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n", 400}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(RedirectServerTest, BadChunkAfterAnsweredHeadClosesTheConnection) {
  RawClient c(port());
  ASSERT_TRUE(c.send("POST /api/v1/orders HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "zz\r\nGET /status HTTP/1.1\r\nHost: a\r\n\r\n"));
  std::string raw = c.readAll();
  auto rs = parseResponses(raw);
  ASSERT_EQ(rs.size(), 1u) << raw;  // the smuggled GET is never answered
  EXPECT_EQ(rs[0].status, 307);
  EXPECT_TRUE(c.peerClosed());
}

TEST_F(RedirectServerTest, NoRuleIs404AndAnUnreachablePoolIs502) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\nGET /app/x HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(2));
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].status, 404);
  EXPECT_EQ(rs[1].status, 502);
}

TEST_F(RedirectServerTest, AbsoluteFormUsesTheTargetsHost) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET http://secure.example.com/p?q=1 HTTP/1.1\r\nHost: secure.example.com\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].header("Location"), "https://secure.example.com/p?q=1");
}

TEST_F(RedirectServerTest, HeaderTimeoutAnswers408) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /status HTTP/1.1\r\nHost: a\r\n"));  // never finishes the head
  auto start = std::chrono::steady_clock::now();
  std::string raw = c.readAll(5s, 5s);
  auto took = std::chrono::steady_clock::now() - start;
  auto rs = parseResponses(raw);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 408);
  EXPECT_TRUE(c.peerClosed());
  EXPECT_GE(took, 900ms);
}

TEST_F(RedirectServerTest, IdleKeepAliveConnectionIsClosedQuietly) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /status HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_EQ(parseResponses(c.readResponses(1)).size(), 1u);
  std::string rest = c.readAll(6s, 6s);  // idle timeout is 3s
  EXPECT_TRUE(c.peerClosed());
  EXPECT_EQ(rest, "");
}

TEST_F(RedirectServerTest, AccessLogHasAReplayableJsonLine) {
  RawClient c(port());
  ASSERT_TRUE(c.send("PUT /api/v1/orders?id=42 HTTP/1.1\r\nHost: shop.example.com\r\n"
                     "User-Agent: access-log-test\r\nX-Request-Id: rid-123\r\nContent-Length: 2\r\n\r\nhi"));
  ASSERT_EQ(parseResponses(c.readResponses(1)).size(), 1u);
  ASSERT_TRUE(detour_->waitForStdout("\"request_id\":\"rid-123\"", 5s)) << detour_->stdoutText();
  std::string out = detour_->stdoutText();
  size_t at = out.find("\"request_id\":\"rid-123\"");
  std::string line = out.substr(out.rfind('\n', at) + 1);
  line = line.substr(0, line.find('\n'));
  for (const char* field :
       {"\"client\":\"127.0.0.1\"", "\"scheme\":\"http\"", "\"host\":\"shop.example.com\"",
        "\"method\":\"PUT\"", "\"target\":\"/api/v1/orders?id=42\"", "\"protocol\":\"HTTP/1.1\"",
        "\"status\":307", "\"rule\":\"orders-v1-moved\"", "\"location\":\"/api/v2/orders?id=42\"",
        "\"user_agent\":\"access-log-test\"", "\"duration_ms\":", "\"time\":\""}) {
    EXPECT_NE(line.find(field), std::string::npos) << field << " in " << line;
  }
  EXPECT_NE(line.find("\"bytes_in\":"), std::string::npos);
}

// curl -L across a 307 re-sends the method and the body to the next hop; across a 302 it
// turns POST into GET and drops the body. The second is why detour exists.
TEST_F(RedirectServerTest, CurlFollowing307KeepsMethodAndBody) {
  std::string out;
  std::string url = "http://127.0.0.1:" + std::to_string(port()) + "/api/v1/orders";
  int rc = runCommand("curl -sS -v -L -X POST --data-binary hello-body -H 'Expect:' '" + url +
                          "' 2>&1", out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("< HTTP/1.1 307"), std::string::npos) << out;
  EXPECT_NE(out.find("> POST /api/v2/orders HTTP/1.1"), std::string::npos) << out;
  // The second hop carries the same 10-byte body.
  size_t second = out.find("> POST /api/v2/orders");
  ASSERT_NE(second, std::string::npos);
  EXPECT_NE(out.find("Content-Length: 10", second), std::string::npos) << out;
}

// `curl -v -L` POSTing a 10-byte body to `path` (no -X, so curl may change the method); its
// verbose output.
std::string curlPostFollowing(int port, const std::string& path) {
  std::string out;
  std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  int rc = runCommand("curl -sS -v -L --data-binary hello-body -H 'Expect:' '" + url + "' 2>&1", out);
  EXPECT_EQ(rc, 0) << out;
  return out;
}

// The first hop POSTed, got `code`, and the second hop is a GET of /status without a body.
void expectPostTurnedIntoGet(const std::string& out, const std::string& path, int code) {
  EXPECT_NE(out.find("> POST " + path + " HTTP/1.1"), std::string::npos) << out;
  EXPECT_NE(out.find("< HTTP/1.1 " + std::to_string(code)), std::string::npos) << out;
  size_t second = out.find("> GET /status HTTP/1.1");
  ASSERT_NE(second, std::string::npos) << out;  // the method became GET ...
  EXPECT_EQ(out.find("Content-Length", second), out.find("< Content-Length", second) + 2)
      << out;  // ... and the second request has no body
  EXPECT_EQ(out.find("> POST /status"), std::string::npos) << out;
  EXPECT_NE(out.find("ok"), std::string::npos);
}

TEST_F(RedirectServerTest, CurlFollowing302TurnsPostIntoGet) {
  expectPostTurnedIntoGet(curlPostFollowing(port(), "/legacy"), "/legacy", 302);
}

// RFC 9110 15.4.2 allows it for 301 too, and curl does it (unless --post301): the reason for
// the method-safety lint on 301 as on 302.
TEST_F(RedirectServerTest, CurlFollowing301TurnsPostIntoGet) {
  expectPostTurnedIntoGet(curlPostFollowing(port(), "/legacy-301"), "/legacy-301", 301);
}

// 303 See Other means "GET the answer there": every client drops the body.
TEST_F(RedirectServerTest, CurlFollowing303TurnsPostIntoGet) {
  expectPostTurnedIntoGet(curlPostFollowing(port(), "/legacy-303"), "/legacy-303", 303);
}

// 308 is the permanent 307: method and body are sent again.
TEST_F(RedirectServerTest, CurlFollowing308KeepsMethodAndBody) {
  std::string out = curlPostFollowing(port(), "/moved-308");
  EXPECT_NE(out.find("< HTTP/1.1 308"), std::string::npos) << out;
  size_t second = out.find("> POST /status HTTP/1.1");
  ASSERT_NE(second, std::string::npos) << out;
  EXPECT_NE(out.find("Content-Length: 10", second), std::string::npos) << out;
  EXPECT_EQ(out.find("> GET /status"), std::string::npos) << out;
}

TEST(RedirectServerFlags, EnvOverridesAFlagDefault) {
  DetourProcess on(kConfig, {"DETOUR_TEST_MAINT=true"});
  ASSERT_TRUE(on.ready());
  RawClient c(on.port());
  ASSERT_TRUE(c.send("POST /api/payments/charge?x=1 HTTP/1.1\r\nHost: shop\r\nContent-Length: 0\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 307);
  EXPECT_EQ(rs[0].header("Location"), "https://backup.example.com/api/payments/charge?x=1");
  EXPECT_EQ(rs[0].header("Retry-After"), "120");
  EXPECT_EQ(on.stop(), 0);
}

TEST(RedirectServerLifecycle, SigtermExitsZeroAndSighupReloads) {
  DetourProcess d(kConfig);
  ASSERT_TRUE(d.ready());
  std::string changed = replaced(kConfig, "to: /api/v2/orders, code: 307", "to: /api/v3/orders, code: 307");
  d.dir().write("detour.yaml", changed);
  d.signal(SIGHUP);
  ASSERT_TRUE(d.waitForStderr("generation 2", 5s)) << d.stderrText();
  RawClient c(d.port());
  ASSERT_TRUE(c.send("POST /api/v1/orders HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].header("Location"), "/api/v3/orders");
  // A broken file changes nothing.
  d.dir().write("detour.yaml", "rules: [");
  d.signal(SIGHUP);
  ASSERT_TRUE(d.waitForStderr("reload failed", 5s)) << d.stderrText();
  RawClient c2(d.port());
  ASSERT_TRUE(c2.send("POST /api/v1/orders HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"));
  rs = parseResponses(c2.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].header("Location"), "/api/v3/orders");
  EXPECT_EQ(d.stop(), 0);
}

}  // namespace
}  // namespace detour::test

namespace detour::test {
namespace {

// {host} reaches a Location only from a Host the server serves: a forged Host cannot turn
// the HTTPS upgrade into a redirect to another site.
TEST(RedirectSafety, AForgedHostGets421NotARedirectToIt) {
  DetourProcess d(R"(version: 1
server:
  listen: ["127.0.0.1:0"]
  hosts: ["shop.example.com", "*.shop.example.com"]
log: { level: warn, access: off }
rules:
  - name: https-upgrade
    match: { scheme: http }
    redirect: { to: "https://{host}{uri}" }
)");
  ASSERT_TRUE(d.ready());
  RawClient c(d.port());
  ASSERT_TRUE(c.send("GET /login?next=%2F HTTP/1.1\r\nHost: shop.example.com\r\n\r\n"
                     "GET /a HTTP/1.1\r\nHost: img.shop.example.com:80\r\n\r\n"
                     "GET /login HTTP/1.1\r\nHost: evil.example\r\n\r\n"
                     "GET http://evil.example/login HTTP/1.1\r\nHost: evil.example\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(4));
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(rs[0].header("Location"), "https://shop.example.com/login?next=%2F");
  EXPECT_EQ(rs[1].header("Location"), "https://img.shop.example.com/a");
  EXPECT_EQ(rs[2].status, 421);
  EXPECT_FALSE(rs[2].hasHeader("Location"));
  EXPECT_EQ(rs[3].status, 421);
}

// Issue 8 audit: "/old//evil.com" answered "Location: //evil.com", which a browser reads as
// another site (protocol-relative). A value may never supply the Location's "//" or scheme;
// a '%' that starts no escape stands for itself.
TEST(RedirectSafety, ARequestPathCannotMakeTheLocationPointElsewhere) {
  DetourProcess d(R"(version: 1
server:
  listen: ["127.0.0.1:0"]
log: { level: warn, access: off }
rules:
  - name: suffix
    match: { path_prefix: /old }
    redirect: { to: "{path_suffix}" }
  - name: slash-suffix
    match: { path_prefix: /s }
    redirect: { to: "/{path_suffix}" }
  - name: capture
    match: { path_regex: "^/c/(.*)$" }
    redirect: { to: "{1}" }
  - name: path
    redirect: { to: "{path}", code: 308 }
)");
  ASSERT_TRUE(d.ready());
  RawClient c(d.port());
  ASSERT_TRUE(c.send("GET /old//evil.com HTTP/1.1\r\nHost: a\r\n\r\n"
                     "GET /s//evil.com/x?q=1 HTTP/1.1\r\nHost: a\r\n\r\n"
                     "GET /c/https://evil.com/ HTTP/1.1\r\nHost: a\r\n\r\n"
                     "GET //evil.com HTTP/1.1\r\nHost: a\r\n\r\n"
                     "GET /old/%zz%0 HTTP/1.1\r\nHost: a\r\n\r\n"
                     "GET /old/ok HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(6));
  ASSERT_EQ(rs.size(), 6u);
  EXPECT_EQ(rs[0].header("Location"), "/%2Fevil.com");
  EXPECT_EQ(rs[1].header("Location"), "/%2F/evil.com/x?q=1");
  EXPECT_EQ(rs[2].header("Location"), "https%3A//evil.com/");
  EXPECT_EQ(rs[3].status, 308);
  EXPECT_EQ(rs[3].header("Location"), "/%2Fevil.com");
  EXPECT_EQ(rs[4].header("Location"), "/%25zz%250");
  EXPECT_EQ(rs[5].header("Location"), "/ok");
}

}  // namespace
}  // namespace detour::test

namespace detour::test {
namespace {

// server.limits.max_body_bytes (100 here): a forward rule's body over it gets 413 and is not
// forwarded; answers detour makes itself (redirect, respond, 404) are decided on the head
// and never pre-empted by it (docs/configuration.md, server.limits).
class BodyLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string cfg = R"(version: 1
server:
  listen: ["127.0.0.1:0"]
  workers: 1
  limits: { max_body_bytes: 100 }
log: { level: warn, access: off }
pools:
  app: { backends: ["BACKEND"] }
rules:
  - name: moved
    match: { path: /moved }
    redirect: { to: /new, code: 307 }
  - name: maintenance
    match: { path: /maintenance }
    respond: { status: 503, body: "down for maintenance\n" }
  - name: app
    match: { path_prefix: /app }
    forward: { pool: app }
)";
    cfg.replace(cfg.find("BACKEND"), 7, backend_.address());
    detour_ = std::make_unique<DetourProcess>(cfg);
    ASSERT_TRUE(detour_->ready());
  }
  int port() const { return detour_->port(); }

  FakeBackend backend_{"app"};
  std::unique_ptr<DetourProcess> detour_;
};

TEST_F(BodyLimitTest, ContentLengthOverTheLimitGets413AndNothingIsForwarded) {
  RawClient c(port());
  ASSERT_TRUE(c.send("POST /app/upload HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n" +
                     std::string(101, 'x') + "GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(2));
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].status, 413);
  EXPECT_EQ(rs[1].status, 404);  // the small refused body was dropped; the connection kept
  // A large one: 413, then the connection closes instead of reading it all.
  RawClient big(port());
  ASSERT_TRUE(
      big.send("PUT /app/upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n"));
  ASSERT_TRUE(big.send(std::string(300000, 'z')));
  auto brs = parseResponses(big.readResponses(1));
  ASSERT_EQ(brs.size(), 1u);
  EXPECT_EQ(brs[0].status, 413);
  EXPECT_EQ(brs[0].header("Connection"), "close");
  EXPECT_TRUE(big.waitClosed(10s));
  EXPECT_EQ(backend_.connections(), 0);  // not even a connection to the backend
  EXPECT_EQ(backend_.requestCount(), 0u);
  // At the limit exactly, the body is forwarded.
  HttpResponse ok = httpCall(port(), "POST", "/app/upload", std::string(100, 'y'));
  EXPECT_EQ(ok.status, 200);
  ASSERT_TRUE(backend_.waitForRequests(1, 5s));
  EXPECT_EQ(backend_.requests()[0].body, std::string(100, 'y'));
}

TEST_F(BodyLimitTest, ChunkedBodyGrowingPastTheLimitGets413AndTheConnectionCloses) {
  RawClient c(port());
  ASSERT_TRUE(c.send("POST /app/upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "3c\r\n" + std::string(60, 'a') + "\r\n"));
  // The first 60 bytes are within the limit and already on their way to the backend.
  waitUntil([&] { return backend_.bytesReceived() >= 60; }, 5s);
  ASSERT_GE(backend_.bytesReceived(), 60u);
  ASSERT_TRUE(c.send("3c\r\n" + std::string(60, 'b') + "\r\n0\r\n\r\n"));
  std::string raw = c.readAll();
  auto rs = parseResponses(raw);
  ASSERT_EQ(rs.size(), 1u) << raw;
  EXPECT_EQ(rs[0].status, 413);
  EXPECT_EQ(rs[0].header("Connection"), "close");
  EXPECT_TRUE(c.peerClosed());
  EXPECT_EQ(backend_.requestCount(), 0u);  // the backend never got a whole request
}

// A redirect is decided on the head alone (contract §5): a body over the limit still gets it.
TEST_F(BodyLimitTest, ARedirectIsNeverPreemptedByTheLimit) {
  RawClient c(port());
  ASSERT_TRUE(c.send("POST /moved HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" +
                     std::string(1000, 'x') + "GET /moved HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(2));
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].status, 307);
  EXPECT_EQ(rs[0].header("Location"), "/new");
  EXPECT_EQ(rs[1].status, 307);  // the small body was read and dropped; the connection kept
  EXPECT_EQ(backend_.connections(), 0);
}

// respond rules and 404s are answered like redirects: on the head, never 413; the body is
// dropped (up to 64 KiB is read to keep the connection, a larger one gets Connection: close).
TEST_F(BodyLimitTest, RespondAndNotFoundAnswerDespiteABodyOverTheLimit) {
  RawClient c(port());
  ASSERT_TRUE(c.send("POST /maintenance HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" +
                     std::string(1000, 'x') +
                     "PUT /nowhere HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" +
                     std::string(1000, 'x')));
  auto rs = parseResponses(c.readResponses(2));
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].status, 503);
  EXPECT_EQ(rs[0].body, "down for maintenance\n");
  EXPECT_FALSE(rs[0].hasHeader("Connection"));
  EXPECT_EQ(rs[1].status, 404);
  RawClient big(port());
  ASSERT_TRUE(
      big.send("POST /maintenance HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n"));
  ASSERT_TRUE(big.send(std::string(300000, 'y')));
  auto brs = parseResponses(big.readResponses(1));
  ASSERT_EQ(brs.size(), 1u);
  EXPECT_EQ(brs[0].status, 503);
  EXPECT_EQ(brs[0].header("Connection"), "close");
  EXPECT_TRUE(big.waitClosed(10s));
  EXPECT_EQ(backend_.connections(), 0);
}

}  // namespace
}  // namespace detour::test
