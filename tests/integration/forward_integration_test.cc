// Forwarding through the real binary to test-owned backends: the exact bytes each side sees,
// streaming both ways, keep-alive reuse, failures (502/504, aborted responses, clients that
// leave), back-pressure with large bodies, WebSocket tunnels, and no leaked descriptors.

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <sstream>
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

// An address nothing listens on: bind a port and close it.
std::string deadAddress() {
  FakeBackend b("dead");
  std::string a = b.address();
  b.stop();
  return a;
}

const char* kForwardConfig = R"(version: 1
server:
  listen: ["127.0.0.1:0"]
  workers: 1
  trusted_proxies: ["TRUSTED"]
  timeouts: { header: 2s, idle: 5s, upstream_connect: 1s, upstream_response: 1s }
admin: { listen: "127.0.0.1:0" }
log:
  level: info
  access: { path: stdout, format: json }
pools:
  main: { backends: ["B1"], keepalive: 8 }
  pair: { backends: ["B1", "B2"], balance: round_robin }
  dead-first: { backends: ["DEAD", "B1"] }
  all-dead: { backends: ["DEAD"] }
  # Failure cases go here; fall is high so that passive checks keep the backend in the pool.
  flaky:
    backends: ["B3"]
    health: { path: /healthz, interval: 1s, timeout: 1s, fall: 100000, rise: 1 }
rules:
  - name: orders-v1-moved
    match: { path: /api/v1/orders, methods: [POST, PUT] }
    redirect: { to: /api/v2/orders/echo }
  - name: strip
    match: { path_prefix: /strip/ }
    forward: { pool: main, strip_prefix: /strip, set_headers: { X-Added: yes-1, Host: backend.internal } }
  - name: set-forwarded
    match: { path_prefix: /setfwd/ }
    forward:
      pool: main
      set_headers: { X-Forwarded-For: 192.0.2.1, x-forwarded-proto: https, X-Forwarded-Host: set.example, X-Request-Id: set-id-1 }
  - name: pair
    match: { path_prefix: /pair/ }
    forward: { pool: pair }
  - name: failover
    match: { path_prefix: /failover/ }
    forward: { pool: dead-first }
  - name: nowhere
    match: { path_prefix: /nowhere/ }
    forward: { pool: all-dead }
  - name: flaky
    match: { path_prefix: /flaky/ }
    forward: { pool: flaky, strip_prefix: /flaky }
  - name: app
    forward: { pool: main }
)";

class ForwardTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    b1_ = new FakeBackend("b1");
    b2_ = new FakeBackend("b2");
    b3_ = new FakeBackend("b3");
    dead_ = new std::string(deadAddress());
    std::string cfg = replaceAll(kForwardConfig, "B1", b1_->address());
    cfg = replaceAll(cfg, "B2", b2_->address());
    cfg = replaceAll(cfg, "B3", b3_->address());
    cfg = replaceAll(cfg, "DEAD", *dead_);
    cfg = replaceAll(cfg, "TRUSTED", "10.9.8.7/32");
    detour_ = new DetourProcess(cfg);
  }
  static void TearDownTestSuite() {
    delete detour_;
    delete b1_;
    delete b2_;
    delete b3_;
    delete dead_;
  }
  void SetUp() override {
    ASSERT_TRUE(detour_->ready());
    b1_->clear();
    b2_->clear();
  }
  int port() const { return detour_->port(); }
  static DetourProcess* detour_;
  static FakeBackend* b1_;
  static FakeBackend* b2_;
  static FakeBackend* b3_;
  static std::string* dead_;
};
DetourProcess* ForwardTest::detour_ = nullptr;
FakeBackend* ForwardTest::b1_ = nullptr;
FakeBackend* ForwardTest::b2_ = nullptr;
FakeBackend* ForwardTest::b3_ = nullptr;
std::string* ForwardTest::dead_ = nullptr;

// Replaces the generated X-Request-Id value with "*".
std::string maskRequestId(std::string raw) {
  size_t at = raw.find("X-Request-Id: ");
  if (at == std::string::npos) return raw;
  size_t end = raw.find("\r\n", at);
  return raw.replace(at + 14, end - at - 14, "*");
}

// The access log line (stdout) that contains `needle`, waiting for it (deadline).
std::string accessLine(const DetourProcess& d, const std::string& needle) {
  if (!d.waitForStdout(needle, 5s)) return "";
  std::string out = d.stdoutText();
  size_t at = out.find(needle);
  std::string line = out.substr(out.rfind('\n', at) + 1);
  return line.substr(0, line.find('\n'));
}

// The value of one Prometheus sample (exact name and labels), 0 when absent.
double metricValue(int admin_port, const std::string& sample) {
  std::string text = httpCall(admin_port, "GET", "/metrics").body;
  size_t at = text.find("\n" + sample + " ");
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + sample.size() + 2));
}

TEST_F(ForwardTest, GetReachesTheBackendWithRewrittenHead) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /hello?x=1 HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: t\r\n"
                     "Connection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\n"
                     "TE: trailers\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\n"
                     "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 200);
  EXPECT_EQ(rs[0].header("X-Backend"), "b1");
  EXPECT_EQ(rs[0].body, "GET /hello?x=1 body=0");
  ASSERT_TRUE(b1_->waitForRequests(1, 2s));
  auto reqs = b1_->requests();
  std::string id = reqs[0].header("X-Request-Id");
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(maskRequestId(reqs[0].raw),
            "GET /hello?x=1 HTTP/1.1\r\n"
            "Host: shop.example.com\r\n"
            "User-Agent: t\r\n"
            "X-Forwarded-For: 127.0.0.1\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: shop.example.com\r\n"
            "X-Request-Id: *\r\n"
            "\r\n");
  // The access log names the same request id, the pool and the backend.
  ASSERT_TRUE(detour_->waitForStdout(id, 5s));
  std::string out = detour_->stdoutText();
  std::string line = out.substr(out.rfind('\n', out.find(id)) + 1);
  line = line.substr(0, line.find('\n'));
  EXPECT_NE(line.find("\"pool\":\"main\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"upstream\":\"" + b1_->address() + "\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"status\":200"), std::string::npos) << line;
}

TEST_F(ForwardTest, ContentLengthBodyIsForwardedByteForByte) {
  RawClient c(port());
  std::string body = "a=1&b=\x01\x02\xff binary";
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: x/y\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body));
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].body, body);
  auto reqs = b1_->requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].header("Content-Length"), std::to_string(body.size()));
  EXPECT_EQ(reqs[0].raw.substr(reqs[0].raw.size() - body.size()), body);
}

TEST_F(ForwardTest, ChunkedBodyStaysChunkedWithExtensionsAndTrailers) {
  RawClient c(port());
  std::string chunked = "4;name=val\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nX-Trailer: t1\r\n\r\n";
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked));
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].body, "Wikipedia in \r\n\r\nchunks.");
  auto reqs = b1_->requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_TRUE(reqs[0].chunked);
  EXPECT_EQ(reqs[0].raw.substr(reqs[0].raw.find("\r\n\r\n") + 4), chunked);
}

TEST_F(ForwardTest, ExpectContinueIsPassedThrough) {
  RawClient c(port());
  ASSERT_TRUE(c.send("PUT /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  std::string interim = c.readAll(300ms, 2s);
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(c.send("data"));
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 200);
  EXPECT_EQ(rs[0].body, "data");
}

TEST_F(ForwardTest, ChunkedResponseIsRelayedByteForByte) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n"));
  std::string raw = c.readAll(300ms, 3s);
  size_t body_at = raw.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos) << raw;
  EXPECT_NE(raw.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(raw.substr(body_at + 4), "5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Sum: 11\r\n\r\n");
  EXPECT_FALSE(c.peerClosed());
}

TEST_F(ForwardTest, ChunkedResponseToHttp10ClientIsDecodedAndDelimitedByClose) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /chunked HTTP/1.0\r\n\r\n"));
  std::string raw = c.readAll(300ms, 3s);
  EXPECT_TRUE(c.peerClosed());
  EXPECT_EQ(raw.find("Transfer-Encoding"), std::string::npos) << raw;
  EXPECT_EQ(raw.substr(raw.find("\r\n\r\n") + 4), "hello world");
}

TEST_F(ForwardTest, CloseDelimitedResponseEndsWithClose) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /close-delimited HTTP/1.1\r\nHost: a\r\n\r\n"));
  std::string raw = c.readAll(300ms, 3s);
  EXPECT_TRUE(c.peerClosed());
  EXPECT_NE(raw.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(raw.substr(raw.find("\r\n\r\n") + 4), "until the end");
}

TEST_F(ForwardTest, HeadResponseHasNoBodyAndTheConnectionStays) {
  RawClient c(port());
  ASSERT_TRUE(c.send("HEAD /x HTTP/1.1\r\nHost: a\r\n\r\nGET /y HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(2, 3s, {0}), {0});
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].body, "");
  EXPECT_EQ(rs[0].header("Content-Length"), "14");
  EXPECT_EQ(rs[1].body, "GET /y body=0");
}

TEST_F(ForwardTest, NoContentAndNotModifiedHaveNoBody) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /status/204 HTTP/1.1\r\nHost: a\r\n\r\nGET /status/304 HTTP/1.1\r\nHost: a\r\n\r\n"
                     "GET /z HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(3));
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].status, 204);
  EXPECT_EQ(rs[1].status, 304);
  EXPECT_EQ(rs[2].body, "GET /z body=0");
}

// A 204 or 304 ends at its head even when the backend sends Content-Length or chunked with
// it: the next request on the same client connection is answered (not held for a body that
// never comes). A 204 loses the framing fields (RFC 9110 8.6); a 304 keeps its Content-Length.
TEST_F(ForwardTest, NoContentAndNotModifiedWithFramingHeadersEndAtTheHead) {
  for (const char* target : {"/status/304?cl=10", "/status/204?cl=10", "/status/304?te=1",
                             "/status/204?te=1"}) {
    RawClient c(port());
    ASSERT_TRUE(c.send(std::string("GET ") + target + " HTTP/1.1\r\nHost: a\r\n\r\n"));
    auto first = parseResponses(c.readResponses(1, 3s));
    ASSERT_EQ(first.size(), 1u) << target;
    bool no_content = std::string(target).find("204") != std::string::npos;
    EXPECT_EQ(first[0].status, no_content ? 204 : 304) << target;
    EXPECT_EQ(first[0].header("Connection"), "") << target;
    if (no_content) {
      EXPECT_FALSE(first[0].hasHeader("Content-Length")) << target;
      EXPECT_FALSE(first[0].hasHeader("Transfer-Encoding")) << target;
    }
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(c.send("GET /after HTTP/1.1\r\nHost: a\r\n\r\n"));
    std::string raw = c.readResponses(1, 3s);
    auto second = parseResponses(raw);
    ASSERT_EQ(second.size(), 1u) << target << ": " << raw;
    EXPECT_EQ(second[0].status, 200) << target;
    EXPECT_EQ(second[0].body, "GET /after body=0") << target;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 900ms) << target;  // upstream_response is 1s
    EXPECT_FALSE(c.peerClosed()) << target;
  }
}

// set_headers naming X-Forwarded-For/-Proto/-Host or X-Request-Id replaces detour's own line:
// each is sent once, as configured, whatever the client sent; the log carries that id.
TEST_F(ForwardTest, SetHeadersReplaceTheGeneratedForwardingLines) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /setfwd/x HTTP/1.1\r\nHost: shop\r\nX-Forwarded-For: 6.6.6.6\r\n"
                     "X-Request-Id: client-id\r\nX-Forwarded-Host: forged\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 200);
  ASSERT_TRUE(b1_->waitForRequests(1, 2s));
  EXPECT_EQ(b1_->requests()[0].raw,
            "GET /setfwd/x HTTP/1.1\r\n"
            "Host: shop\r\n"
            "X-Forwarded-For: 192.0.2.1\r\n"
            "x-forwarded-proto: https\r\n"
            "X-Forwarded-Host: set.example\r\n"
            "X-Request-Id: set-id-1\r\n"
            "\r\n");
  std::string line = accessLine(*detour_, "\"target\":\"/setfwd/x\"");
  EXPECT_NE(line.find("\"request_id\":\"set-id-1\""), std::string::npos) << line;
}

// An empty X-Request-Id counts as none: detour generates one, sends it instead of the empty
// field, and logs the same id.
TEST_F(ForwardTest, AnEmptyRequestIdIsReplacedByAGeneratedOne) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /rid-empty HTTP/1.1\r\nHost: a\r\nX-Request-Id:\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  ASSERT_TRUE(b1_->waitForRequests(1, 2s));
  auto req = b1_->requests()[0];
  EXPECT_EQ(req.headerCount("X-Request-Id"), 1u) << req.raw;
  std::string id = req.header("X-Request-Id");
  EXPECT_EQ(id.size(), 32u) << req.raw;
  std::string line = accessLine(*detour_, "\"target\":\"/rid-empty\"");
  EXPECT_NE(line.find("\"request_id\":\"" + id + "\""), std::string::npos) << id << " in " << line;
}

// Hop-by-hop fields of the backend's response (those Connection names, Keep-Alive,
// Proxy-Connection, TE, Upgrade) never reach the client: the exact head on the wire.
TEST_F(ForwardTest, HopByHopFieldsOfTheResponseAreRemoved) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /hop-response HTTP/1.1\r\nHost: a\r\n\r\n"));
  std::string raw = c.readResponses(1);
  EXPECT_EQ(raw, "HTTP/1.1 200 OK\r\nX-Backend: b1\r\nX-End: kept\r\nContent-Length: 2\r\n\r\nok");
}

// A client that sends its whole request and then half-closes (shutdown(SHUT_WR)) still gets
// the response, then the connection closes; the exchange is logged with the backend's status.
TEST_F(ForwardTest, AHalfClosedClientStillGetsItsForwardedResponse) {
  for (const std::string& req :
       {std::string("GET /delay?ms=300&h=get HTTP/1.1\r\nHost: a\r\n\r\n"),
        std::string("POST /delay?ms=300&h=post HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")}) {
    RawClient c(port());
    ASSERT_TRUE(c.send(req));
    c.shutdownWrite();
    std::string raw = c.readAll(2s, 5s);
    auto rs = parseResponses(raw);
    ASSERT_EQ(rs.size(), 1u) << raw;
    EXPECT_EQ(rs[0].status, 200);
    EXPECT_EQ(rs[0].body, "delayed");
    EXPECT_TRUE(c.peerClosed());
    std::string target = req.substr(req.find(' ') + 1);
    target = target.substr(0, target.find(' '));
    std::string line = accessLine(*detour_, "\"target\":\"" + target + "\"");
    EXPECT_NE(line.find("\"status\":200"), std::string::npos) << line;
  }
}

// Half-closing while the request body is still arriving gives the request up: 499 in the log,
// and the backend's connection closes with the request incomplete.
TEST_F(ForwardTest, AHalfCloseMidBodyAbortsTheForward) {
  size_t before = b1_->bytesReceived();
  RawClient c(port());
  ASSERT_TRUE(c.send("POST /sink?h=half HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" +
                     std::string(1000, 'u')));
  waitUntil([&] { return b1_->bytesReceived() >= before + 1000; }, 5s);
  c.shutdownWrite();
  EXPECT_TRUE(c.waitClosed(5s));
  waitUntil([&] { return b1_->incompleteRequests() != 0; }, 5s);
  EXPECT_EQ(b1_->incompleteRequests(), 1u);
  EXPECT_EQ(b1_->requestCount(), 0u);
  std::string line = accessLine(*detour_, "\"target\":\"/sink?h=half\"");
  EXPECT_NE(line.find("\"status\":499"), std::string::npos) << line;
}

// h2c (and any Upgrade other than websocket) is not an upgrade detour forwards: Upgrade,
// Connection and what Connection names (HTTP2-Settings) are dropped, the request is forwarded
// as a plain one, and the answer is a plain response.
TEST_F(ForwardTest, AnH2cUpgradeIsForwardedAsAPlainRequest) {
  for (const char* upgrade : {"h2c", "websocket, h2c", "WebSocket/13"}) {
    b1_->clear();
    RawClient c(port());
    ASSERT_TRUE(c.send(std::string("GET /plain HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                                   "Upgrade: ") + upgrade + "\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"));
    auto rs = parseResponses(c.readResponses(1));
    ASSERT_EQ(rs.size(), 1u) << upgrade;
    EXPECT_EQ(rs[0].status, 200) << upgrade;
    EXPECT_EQ(rs[0].body, "GET /plain body=0") << upgrade;
    ASSERT_TRUE(b1_->waitForRequests(1, 2s));
    EXPECT_EQ(maskRequestId(b1_->requests()[0].raw),
              "GET /plain HTTP/1.1\r\n"
              "Host: a\r\n"
              "X-Forwarded-For: 127.0.0.1\r\n"
              "X-Forwarded-Proto: http\r\n"
              "X-Forwarded-Host: a\r\n"
              "X-Request-Id: *\r\n"
              "\r\n") << upgrade;
  }
}

// A malformed response on a connection the backend keeps open: 502, and that connection is
// never used again (the next request goes out on a new one).
TEST(ForwardMalformed, AConnectionThatAnsweredGarbageIsNeverReused) {
  FakeBackend b("b1");
  DetourProcess d(std::string(R"(version: 1
server:
  listen: ["127.0.0.1:0"]
  workers: 1
  timeouts: { upstream_connect: 1s, upstream_response: 2s }
log: { level: info, access: off }
pools:
  app: { backends: [")") + b.address() + R"("], keepalive: 4 }
rules:
  - name: app
    forward: { pool: app }
)");
  ASSERT_TRUE(d.ready());
  RawClient c(d.port());
  for (const char* target : {"/first", "/cl-te-keep", "/next"}) {
    ASSERT_TRUE(c.send(std::string("GET ") + target + " HTTP/1.1\r\nHost: h\r\n\r\n"));
    auto rs = parseResponses(c.readResponses(1));
    ASSERT_EQ(rs.size(), 1u) << target;
    EXPECT_EQ(rs[0].status, std::string(target) == "/cl-te-keep" ? 502 : 200) << target;
  }
  auto reqs = b.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[1].connection, reqs[0].connection);  // the idle connection was reused...
  EXPECT_NE(reqs[2].connection, reqs[1].connection);  // ...but not after it sent garbage
  EXPECT_EQ(b.connections(), 2);
}

TEST_F(ForwardTest, PipelinedForwardedRequestsAreAnsweredInOrder) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\n"
                     "Content-Length: 3\r\n\r\nabcGET /status HTTP/1.1\r\nHost: a\r\n\r\n"
                     "POST /api/v1/orders HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nzz"));
  auto rs = parseResponses(c.readResponses(4));
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(rs[0].body, "GET /1 body=0");
  EXPECT_EQ(rs[1].body, "abc");
  EXPECT_EQ(rs[2].body, "GET /status body=0");
  EXPECT_EQ(rs[3].status, 307);
}

TEST_F(ForwardTest, KeepAliveReusesUpstreamConnections) {
  int before = b1_->connections();
  RawClient c(port());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(c.send("GET /n" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n"));
    auto rs = parseResponses(c.readResponses(1));
    ASSERT_EQ(rs.size(), 1u) << i;
    ASSERT_EQ(rs[0].status, 200);
  }
  EXPECT_LE(b1_->connections() - before, 2);
  EXPECT_EQ(b1_->requestCount(), 100u);
}

TEST_F(ForwardTest, StripPrefixAndSetHeaders) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /strip/inner/path?q=2 HTTP/1.1\r\nHost: shop\r\nX-Added: client\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].body, "GET /inner/path?q=2 body=0");
  auto reqs = b1_->requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].header("Host"), "backend.internal");
  EXPECT_EQ(reqs[0].headerCount("Host"), 1u);
  EXPECT_EQ(reqs[0].header("X-Added"), "yes-1");
  EXPECT_EQ(reqs[0].headerCount("X-Added"), 1u);
  EXPECT_EQ(reqs[0].header("X-Forwarded-Host"), "shop");
}

TEST_F(ForwardTest, RoundRobinAlternatesBackends) {
  std::vector<std::string> seen;
  for (int i = 0; i < 4; ++i) {
    RawClient c(port());
    ASSERT_TRUE(c.send("GET /pair/" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n"));
    auto rs = parseResponses(c.readResponses(1));
    ASSERT_EQ(rs.size(), 1u);
    seen.push_back(rs[0].header("X-Backend"));
  }
  EXPECT_NE(seen[0], seen[1]);
  EXPECT_EQ(seen[0], seen[2]);
  EXPECT_EQ(seen[1], seen[3]);
}

TEST_F(ForwardTest, RefusedBackendFailsOverToTheNext) {
  // The dead backend comes first in the pool and is tried first: its refused connect is
  // counted, and the request then reaches b1 whole.
  const std::string refused = "detour_upstream_errors_total{pool=\"dead-first\",backend=\"" + *dead_ +
                              "\",kind=\"connect_failed\"}";
  double before = metricValue(detour_->adminPort(), refused);
  RawClient c(port());
  ASSERT_TRUE(c.send("POST /failover/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"));
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 200);
  EXPECT_EQ(rs[0].body, "POST /failover/x body=5");
  EXPECT_EQ(rs[0].header("X-Backend"), "b1");
  EXPECT_EQ(metricValue(detour_->adminPort(), refused), before + 1);
  auto reqs = b1_->requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].body, "hello");
}

TEST_F(ForwardTest, NoReachableBackendIs502AndTheConnectionServesOn) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /nowhere/x HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(2));
  ASSERT_EQ(rs.size(), 2u);
  // 502 while the refusing backend is tried; 503 (with Retry-After) once passive checks
  // have marked it down, when earlier tests in this process already hit it.
  EXPECT_TRUE(rs[0].status == 502 || rs[0].status == 503) << rs[0].status;
  EXPECT_EQ(rs[1].status, 200);
}

struct UpstreamFailureCase {
  const char* name;
  const char* target;
  int status;
};
void PrintTo(const UpstreamFailureCase& c, std::ostream* os) { *os << c.name; }

class UpstreamFailureTest : public ForwardTest,
                            public ::testing::WithParamInterface<UpstreamFailureCase> {};

TEST_P(UpstreamFailureTest, AnswersWithAGatewayError) {
  RawClient c(port());
  ASSERT_TRUE(c.send(std::string("GET ") + GetParam().target + " HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(1, 5s));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, GetParam().status);
  // Everyone else is still served.
  RawClient other(port());
  ASSERT_TRUE(other.send("GET /ok HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto ok = parseResponses(other.readResponses(1));
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].status, 200);
}

INSTANTIATE_TEST_SUITE_P(
    Failures, UpstreamFailureTest,
    ::testing::Values(UpstreamFailureCase{"closes_before_head", "/flaky/close-early", 502},
                      UpstreamFailureCase{"stalls", "/flaky/stall", 504},
                      UpstreamFailureCase{"garbage", "/flaky/garbage", 502},
                      UpstreamFailureCase{"cl_and_te", "/flaky/cl-te", 502}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(ForwardTest, BackendDyingMidBodyClosesTheClientWithoutACompleteResponse) {
  for (const char* target : {"/flaky/die-mid-body", "/flaky/bad-chunk"}) {
    RawClient c(port());
    ASSERT_TRUE(c.send(std::string("GET ") + target + " HTTP/1.1\r\nHost: a\r\n\r\n"));
    std::string raw = c.readAll(2s, 5s);
    EXPECT_TRUE(c.peerClosed()) << target;
    auto rs = parseResponses(raw);
    // The head arrived but the body is short of its length / has no last chunk.
    EXPECT_NE(raw.find("HTTP/1.1 200"), std::string::npos) << target;
    if (std::string(target) == "/flaky/die-mid-body") {
      EXPECT_TRUE(rs.empty()) << raw.size();
    }
    EXPECT_EQ(raw.find("\r\n0\r\n\r\n"), std::string::npos) << target;
  }
}

TEST_F(ForwardTest, ClientLeavingMidUploadClosesTheBackendConnection) {
  {
    size_t before = b1_->bytesReceived();
    RawClient c(port());
    ASSERT_TRUE(c.send("POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n" +
                       std::string(100000, 'u')));
    // Leave once the backend is reading the body (before that there is no request to cut).
    waitUntil([&] { return b1_->bytesReceived() >= before + 100000; }, 5s);
  }  // closed mid-body
  waitUntil([&] { return b1_->incompleteRequests() != 0; }, 5s);
  EXPECT_EQ(b1_->incompleteRequests(), 1u);
  EXPECT_EQ(b1_->requestCount(), 0u);
}

TEST_F(ForwardTest, MalformedChunkMidForwardNeverCompletesUpstream) {
  RawClient c(port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\nzz\r\n0\r\n\r\n"));
  std::string raw = c.readAll(300ms, 3s);
  auto rs = parseResponses(raw);
  ASSERT_EQ(rs.size(), 1u) << raw;
  EXPECT_EQ(rs[0].status, 400);
  EXPECT_TRUE(c.peerClosed());
  EXPECT_EQ(b1_->requestCount(), 0u);
}

TEST_F(ForwardTest, WebSocketUpgradeBecomesATunnel) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  std::string head = c.readAll(500ms, 3s);
  EXPECT_NE(head.find("HTTP/1.1 101 Switching Protocols\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Upgrade: websocket"), std::string::npos) << head;
  ASSERT_TRUE(c.send("ping-1"));
  EXPECT_EQ(c.readAll(300ms, 3s), "ping-1");
  ASSERT_TRUE(c.send(std::string(300000, 'w')));
  std::string echoed;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (echoed.size() < 300000 && std::chrono::steady_clock::now() < deadline)
    echoed += c.readAll(300ms, 1s);
  EXPECT_EQ(echoed.size(), 300000u);
  auto reqs = b1_->requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].header("Upgrade"), "websocket");
  EXPECT_EQ(reqs[0].header("Connection"), "upgrade");
}

size_t countFds(pid_t pid) {
  size_t n = 0;
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (d == nullptr) return 0;
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n;
}

TEST_F(ForwardTest, AThousandFailedRequestsLeakNoDescriptor) {
  size_t before = countFds(detour_->pid());
  // The suite shares one detour: earlier tests' failure lines are not this loop's.
  size_t err_from = detour_->stderrText().size();
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    RawClient c(port());
    const char* target = i % 3 == 0 ? "/nowhere/x" : i % 3 == 1 ? "/flaky/close-early" : "/flaky/garbage";
    ASSERT_TRUE(c.send(std::string("GET ") + target + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
    auto rs = parseResponses(c.readResponses(1));
    ASSERT_EQ(rs.size(), 1u) << i;
    // 502 while the dead pool's backend is tried; 503 once passive checks marked it down.
    ASSERT_TRUE(rs[0].status == 502 || rs[0].status == 503) << i << ": " << rs[0].status;
  }
  // A line per failure would take the shared log lock on every request of a pool that is
  // down: at most ten a second per worker are logged (this suite runs one), and the next line
  // says how many were left out.
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string err = detour_->stderrText().substr(err_from);
  // Counted per line (a line with the held-back note names "upstream" twice); the limit is
  // per calendar second, and a loop of s seconds touches at most floor(s) + 2 of them.
  size_t lines = 0;
  for (size_t at = err.find(" upstream "); at != std::string::npos;) {
    ++lines;
    size_t eol = err.find('\n', at);
    at = eol == std::string::npos ? eol : err.find(" upstream ", eol);
  }
  EXPECT_GT(lines, 0u) << err;
  EXPECT_LE(lines, static_cast<size_t>((std::floor(seconds) + 2) * 10)) << seconds << " s\n" << err;
  // The next failure in a later second gets its line, with the count left out before it.
  const std::string note = "more upstream failure lines left out before this one";
  // One failing request every 50 ms until the note is logged.
  auto last_sent = std::chrono::steady_clock::time_point{};
  waitUntil([&] {
    if (detour_->stderrText().find(note) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() - last_sent >= 50ms) {
      RawClient c(port());
      EXPECT_TRUE(c.send("GET /nowhere/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
      c.readResponses(1);
      last_sent = std::chrono::steady_clock::now();
    }
    return false;
  }, 3s);
  EXPECT_NE(detour_->stderrText().find(note), std::string::npos) << detour_->stderrText();
  // Closed client connections leave within the linger time; give them a bounded moment.
  waitUntil([&] { return countFds(detour_->pid()) <= before + 2; }, 10s);
  EXPECT_LE(countFds(detour_->pid()), before + 2);
}

long vmKib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// Minor page faults of `pid` so far (field 10 of /proc/PID/stat).
[[maybe_unused]] long minorFaults(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  for (int i = 3; i <= 10 && rest >> field; ++i) {
  }
  return std::stol(field);
}

TEST_F(ForwardTest, LargeUploadAndDownloadStreamInBoundedMemory) {
  constexpr size_t kSize = 256u << 20;
  {
#ifndef DETOUR_SANITIZED
    long faults_before = minorFaults(detour_->pid());
#endif
    RawClient c(port());
    ASSERT_TRUE(c.send("POST /sink HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(kSize) +
                       "\r\n\r\n"));
    std::string block(1 << 20, 'u');
    for (size_t sent = 0; sent < kSize; sent += block.size()) ASSERT_TRUE(c.send(block));
    auto rs = parseResponses(c.readResponses(1, 60s));
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].body, std::to_string(kSize));
#ifndef DETOUR_SANITIZED
    // The body's chunks reuse the same memory: an mmap per 64 KiB read (glibc's thresholds
    // left fixed at 128 KiB) faulted in 260 pages per MiB.
    long faults = minorFaults(detour_->pid()) - faults_before;
    EXPECT_LT(faults, 4096) << "page faults during a 256 MiB upload";
#endif
  }
  {
    RawClient c(port());
    ASSERT_TRUE(c.send("GET /big?bytes=" + std::to_string(kSize) + " HTTP/1.1\r\nHost: a\r\n\r\n"));
    size_t got = 0;
    char buf[1 << 16];
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (got < kSize + 40 && std::chrono::steady_clock::now() < deadline) {
      ssize_t n = recv(c.fd(), buf, sizeof buf, 0);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    EXPECT_GE(got, kSize);
  }
  long hwm = vmKib(detour_->pid(), "VmHWM");
  EXPECT_GT(hwm, 0);
#ifdef DETOUR_SANITIZED
  // Sanitizer shadow memory and quarantines inflate RSS; what must still hold is that the
  // 256 MiB bodies were never held whole.
  constexpr long kLimitKib = 160 * 1024;
#else
  constexpr long kLimitKib = 32 * 1024;
#endif
  EXPECT_LT(hwm, kLimitKib) << "peak RSS " << hwm << " KiB";
}

}  // namespace
}  // namespace detour::test

namespace detour::test {
namespace {

std::string poolConfig(const std::string& backends, const std::string& extra = "") {
  return R"(version: 1
server:
  listen: ["127.0.0.1:0"]
  workers: 1
  timeouts: { upstream_connect: 1s, upstream_response: 5s }
log: { level: info, access: off }
pools:
  app: { backends: [)" + backends + "]" + extra + R"( }
rules:
  - name: a
    match: { path: /a }
    redirect: { to: /aa }
  - name: b
    match: { path: /b }
    redirect: { to: /bb }
  - name: app
    forward: { pool: app }
)";
}

// A reload that drops rules and rebuilds the pools while an upload is being forwarded: the
// exchange finishes on what it started with (under ASan this also checks nothing is freed
// under it).
TEST(ForwardAcrossReload, AnUploadInFlightSurvivesAReloadThatShrinksTheTable) {
  FakeBackend b("b1");
  DetourProcess d(poolConfig("\"" + b.address() + "\""), {}, std::chrono::seconds(10), {"--no-watch"});
  ASSERT_TRUE(d.ready());
  RawClient up(d.port());
  const size_t total = 1 << 20;
  ASSERT_TRUE(up.send("POST /sink HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(total) +
                      "\r\n\r\n" + std::string(total / 2, 'u')));
  std::string smaller = poolConfig("\"" + b.address() + "\"");
  size_t cut = smaller.find("  - name: a\n");
  size_t end = smaller.find("  - name: app\n");
  smaller.erase(cut, end - cut);  // only `app` is left
  d.dir().write("detour.yaml", smaller);
  d.signal(SIGHUP);
  ASSERT_TRUE(d.waitForStderr("generation 2", 5s)) << d.stderrText();
  // Another forwarded request makes the worker rebuild its pools for the new snapshot.
  EXPECT_EQ(httpCall(d.port(), "GET", "/other").status, 200);
  EXPECT_EQ(httpCall(d.port(), "GET", "/a").status, 200);  // the rule is gone: forwarded
  ASSERT_TRUE(up.send(std::string(total / 2, 'u')));
  auto rs = parseResponses(up.readResponses(1, 10s));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 200);
  EXPECT_EQ(rs[0].body, std::to_string(total));
  EXPECT_EQ(d.stop(), 0);
}

bool waitForNoBackendConnections(const FakeBackend& b) {
  return waitUntil([&] { return b.openConnections() == 0; }, 5s);
}

// The backend closes every connection right after answering (without saying so). Once it has
// closed, a POST (never sent twice) must not go out on that idle connection.
TEST(ForwardIdleConnections, AnIdleConnectionTheBackendClosedIsNotUsed) {
  FakeBackend b("b1");
  DetourProcess d(poolConfig("\"" + b.address() + "\""));
  ASSERT_TRUE(d.ready());
  RawClient c(d.port());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(c.send("POST /close-after HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"));
    auto rs = parseResponses(c.readResponses(1));
    ASSERT_EQ(rs.size(), 1u) << i;
    ASSERT_EQ(rs[0].status, 200) << i;  // never a 502 from reusing a closed connection
    ASSERT_TRUE(waitForNoBackendConnections(b)) << i;
  }
  EXPECT_EQ(b.requestCount(), 20u);
}

// A kept-alive connection waits for the next request for timeouts.idle, however short
// upstream_response is: the response timeout of its last exchange does not follow it into
// the idle list (it used to, and closed it after upstream_response).
TEST(ForwardIdleConnections, AnIdleConnectionOutlivesTheResponseTimeoutOfItsLastExchange) {
  FakeBackend b("b1");
  std::string config = poolConfig("\"" + b.address() + "\"");
  size_t at = config.find("upstream_response: 5s");
  ASSERT_NE(at, std::string::npos);
  config.replace(at, std::string("upstream_response: 5s").size(), "upstream_response: 300ms");
  DetourProcess d(config);
  ASSERT_TRUE(d.ready());
  EXPECT_EQ(httpCall(d.port(), "GET", "/echo").status, 200);
  ASSERT_EQ(b.connections(), 1);
  // The window that proves nothing happens: four response timeouts.
  std::this_thread::sleep_for(1200ms);
  EXPECT_EQ(b.openConnections(), 1u);
  EXPECT_EQ(httpCall(d.port(), "GET", "/echo").status, 200);
  EXPECT_EQ(b.connections(), 1);  // the same connection served both
  EXPECT_EQ(d.stop(), 0);
}

// Waits until every thread of `pid` is stopped (state T in /proc/PID/task/*/stat): a SIGSTOP
// has taken effect on the workers too, not only on the main thread.
bool waitStopped(pid_t pid) {
  auto allStopped = [&] {
    std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return false;
    bool all = true;
    int tasks = 0;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      ++tasks;
      std::ifstream f(dir + "/" + e->d_name + "/stat");
      std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      size_t paren = stat.rfind(')');
      if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'T') all = false;
    }
    closedir(d);
    return all && tasks > 0;
  };
  return waitUntil(allStopped, 5s);
}

// A POST goes out on a kept-alive connection without a MSG_PEEK check when the connection went
// idle in an earlier loop iteration: a close that came before the request is reported by the
// same poll, and the request's bytes leave only at the iteration's flush, after that close was
// seen, so the request moves whole to a fresh connection. Pinned by freezing detour (SIGSTOP)
// while the request arrives and, after it, the backend closes the idle connection: one poll
// then reports the request first and the close second.
TEST(ForwardIdleConnections, ACloseReportedInTheSamePollAsAPostMovesItToAFreshConnection) {
  FakeBackend b("b1");
  DetourProcess d(poolConfig("\"" + b.address() + "\""));
  ASSERT_TRUE(d.ready());
  RawClient c(d.port());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.send("GET /echo HTTP/1.1\r\nHost: h\r\n\r\n"));
    ASSERT_EQ(parseResponses(c.readResponses(1)).size(), 1u) << i;  // the connection is idle now
    d.signal(SIGSTOP);
    ASSERT_TRUE(waitStopped(d.pid())) << i;
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"));
    b.closeConnections();
    bool closed = waitForNoBackendConnections(b);
    d.signal(SIGCONT);
    ASSERT_TRUE(closed) << i;
    auto rs = parseResponses(c.readResponses(1));
    ASSERT_EQ(rs.size(), 1u) << i;
    EXPECT_EQ(rs[0].status, 200) << i;  // a 502 if the POST went out on the closed connection
    EXPECT_EQ(rs[0].body, "abc") << i;
  }
  EXPECT_EQ(b.requestCount(), 10u);
  EXPECT_EQ(d.stop(), 0);
}

// A connection that went idle in this very iteration may have the backend's close right behind
// the response just read: before a POST goes out on it, it is checked (MSG_PEEK). Pinned by
// freezing detour while the backend answers a GET and closes, and a second client's POST
// arrives: one poll reports both, the response first.
TEST(ForwardIdleConnections, AConnectionIdleSinceThisIterationIsCheckedBeforeAPost) {
  FakeBackend b("b1");
  DetourProcess d(poolConfig("\"" + b.address() + "\""));
  ASSERT_TRUE(d.ready());
  for (int i = 0; i < 3; ++i) {
    RawClient first(d.port());
    RawClient second(d.port());
    // Accepted and read from before the freeze (a redirect: no upstream connection of its own).
    ASSERT_TRUE(second.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"));
    ASSERT_EQ(parseResponses(second.readResponses(1)).size(), 1u) << i;
    size_t before = b.requestCount();
    ASSERT_TRUE(first.send("GET /close-after?ms=300 HTTP/1.1\r\nHost: h\r\n\r\n"));
    ASSERT_TRUE(b.waitForRequests(before + 1, 5s)) << i;
    d.signal(SIGSTOP);
    ASSERT_TRUE(waitStopped(d.pid())) << i;
    bool closed = waitForNoBackendConnections(b);  // answered, then closed
    ASSERT_TRUE(second.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"));
    d.signal(SIGCONT);
    ASSERT_TRUE(closed) << i;
    auto r1 = parseResponses(first.readResponses(1));
    ASSERT_EQ(r1.size(), 1u) << i;
    EXPECT_EQ(r1[0].status, 200) << i;
    auto r2 = parseResponses(second.readResponses(1));
    ASSERT_EQ(r2.size(), 1u) << i;
    EXPECT_EQ(r2[0].status, 200) << i;  // a 502 if the POST went out on the closed connection
    EXPECT_EQ(r2[0].body, "abc") << i;
  }
  EXPECT_EQ(b.requestCount(), 6u);
  EXPECT_EQ(d.stop(), 0);
}

// The backend resets a reused connection as the next request arrives (its keep-alive timeout
// firing as the request leaves). An idempotent request is sent again, once, on a fresh
// connection: the client sees a 200 and the backend got it once, whole.
TEST(ForwardIdleConnections, AnIdempotentRequestOnAConnectionResetUnderItIsSentAgain) {
  FakeBackend b("b1");
  DetourProcess d(poolConfig("\"" + b.address() + "\""));
  ASSERT_TRUE(d.ready());
  RawClient c(d.port());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.send("GET /close-on-next HTTP/1.1\r\nHost: h\r\n\r\n"));
    auto first = parseResponses(c.readResponses(1));
    ASSERT_EQ(first.size(), 1u) << i;
    ASSERT_EQ(first[0].status, 200) << i;
    std::string put_body = "put-" + std::to_string(i);
    ASSERT_TRUE(c.send("PUT /echo?i=" + std::to_string(i) +
                       " HTTP/1.1\r\nHost: h\r\nContent-Length: " +
                       std::to_string(put_body.size()) + "\r\n\r\n" + put_body));
    auto rs = parseResponses(c.readResponses(1));
    ASSERT_EQ(rs.size(), 1u) << i;
    EXPECT_EQ(rs[0].status, 200) << i;
    EXPECT_EQ(rs[0].body, put_body) << i;
  }
  auto reqs = b.requests();
  ASSERT_EQ(reqs.size(), 10u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(reqs[2 * i + 1].target, "/echo?i=" + std::to_string(i));
    EXPECT_NE(reqs[2 * i + 1].connection, reqs[2 * i].connection);  // a fresh connection
  }
  EXPECT_EQ(d.stop(), 0);
}

// The same race with a POST: it may have had effects, so it is not sent twice; the client gets
// a 502 (and may decide itself), and the backend saw no request.
TEST(ForwardIdleConnections, APostOnAConnectionResetUnderItIsNotSentAgain) {
  FakeBackend b("b1");
  DetourProcess d(poolConfig("\"" + b.address() + "\""));
  ASSERT_TRUE(d.ready());
  RawClient c(d.port());
  ASSERT_TRUE(c.send("GET /close-on-next HTTP/1.1\r\nHost: h\r\n\r\n"));
  ASSERT_EQ(parseResponses(c.readResponses(1)).size(), 1u);
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"));
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 502);
  EXPECT_EQ(b.requestCount(), 1u);  // only the GET
}

// A backend whose connect fails at once (unreachable address) is skipped, and the next one
// receives the whole request: head and every body byte, nothing else.
TEST(ForwardConnectFailure, AnImmediateConnectFailureTriesTheNextBackendWithTheWholeRequest) {
  FakeBackend b("b1");
  DetourProcess d(poolConfig("\"255.255.255.255:80\", \"" + b.address() + "\""));
  ASSERT_TRUE(d.ready());
  RawClient c(d.port());
  const std::string body = "GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\nxxx";
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n"));
  // The body arrives after the first connect attempt: detour is already connected to b.
  ASSERT_TRUE(waitUntil([&] { return b.connections() >= 1; }, 5s));
  ASSERT_TRUE(c.send(body));
  auto rs = parseResponses(c.readResponses(1, 5s));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 200);
  EXPECT_EQ(rs[0].body, body);
  auto reqs = b.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/echo");
}

TEST(ForwardBalance, LeastConnAvoidsTheBusyBackend) {
  FakeBackend b1("b1"), b2("b2");
  DetourProcess d(poolConfig("\"" + b1.address() + "\", \"" + b2.address() + "\"",
                             ", balance: least_conn"));
  ASSERT_TRUE(d.ready());
  RawClient busy(d.port());
  ASSERT_TRUE(busy.send("GET /stall HTTP/1.1\r\nHost: h\r\n\r\n"));  // holds one backend
  ASSERT_TRUE(waitUntil([&] { return b1.requestCount() + b2.requestCount() >= 1; }, 5s));
  std::string stalled = b1.requestCount() == 1 ? "b1" : "b2";
  for (int i = 0; i < 6; ++i) {
    auto r = httpCall(d.port(), "GET", "/x" + std::to_string(i));
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(r.header("X-Backend"), stalled) << i;
  }
}

}  // namespace
}  // namespace detour::test

namespace detour::test {
namespace {

std::string oneBackendConfig(const FakeBackend& b, const std::string& server_extra = "",
                             const std::string& log = "{ level: info, access: off }") {
  return R"(version: 1
server:
  listen: ["127.0.0.1:0"]
  workers: 1
  timeouts: { upstream_connect: 1s, upstream_response: 5s, idle: 10s })" +
         server_extra + R"(
log: )" + log + R"(
pools:
  app: { backends: [")" + b.address() + R"("] }
rules:
  - name: app
    forward: { pool: app }
)";
}

// Behind a trusted proxy (127.0.0.1/32 here) its X-Forwarded-For is extended with the peer, and
// its X-Forwarded-Proto and X-Forwarded-Host are kept: the exact bytes at the backend.
TEST(ForwardTrustedProxy, ForwardingFieldsFromATrustedPeerAreKeptAndExtended) {
  FakeBackend b("b1");
  DetourProcess d(oneBackendConfig(b, "\n  trusted_proxies: [\"127.0.0.1/32\"]"));
  ASSERT_TRUE(d.ready());
  RawClient c(d.port());
  ASSERT_TRUE(c.send("GET /t HTTP/1.1\r\nHost: shop\r\nX-Forwarded-For: 1.2.3.4\r\n"
                     "X-Forwarded-Proto: https\r\nX-Forwarded-Host: orig.example\r\n"
                     "X-Request-Id: rid-7\r\n\r\n"));
  auto rs = parseResponses(c.readResponses(1));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 200);
  ASSERT_TRUE(b.waitForRequests(1, 2s));
  EXPECT_EQ(b.requests()[0].raw,
            "GET /t HTTP/1.1\r\n"
            "Host: shop\r\n"
            "X-Request-Id: rid-7\r\n"
            "X-Forwarded-For: 1.2.3.4, 127.0.0.1\r\n"
            "X-Forwarded-Proto: https\r\n"
            "X-Forwarded-Host: orig.example\r\n"
            "\r\n");
}

// A backend answering 101 to a request that was not a WebSocket upgrade (h2c, or no Upgrade
// at all): 502, never a tunnel, and that upstream connection is closed.
TEST(ForwardUpgrade, A101ToARequestThatIsNotAWebSocketUpgradeIs502) {
  for (const char* extra : {"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n",
                            ""}) {
    FakeBackend b("b1");
    DetourProcess d(oneBackendConfig(b));
    ASSERT_TRUE(d.ready());
    std::string raw;
    {
      RawClient c(d.port());
      ASSERT_TRUE(c.send(std::string("GET /ws HTTP/1.1\r\nHost: h\r\n") + extra + "\r\n"));
      raw = c.readResponses(1, 3s);
    }
    auto rs = parseResponses(raw);
    ASSERT_EQ(rs.size(), 1u) << raw;
    EXPECT_EQ(rs[0].status, 502) << raw;
    ASSERT_TRUE(b.waitForRequests(1, 2s));
    EXPECT_FALSE(b.requests()[0].hasHeader("Upgrade"));
    waitUntil([&] { return b.openConnections() == 0; }, 3s);
    EXPECT_EQ(b.openConnections(), 0u) << "the upstream connection that sent 101 is still open";
    EXPECT_EQ(d.stop(), 0);
  }
}

// A loopback listener whose accept queue is full: the kernel drops further SYNs, so a connect
// to it hangs (SYN_SENT) until the connector gives up. Loopback only, no routing tricks.
class HangingListener {
 public:
  HangingListener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    bind(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
    listen(fd_, 0);
    socklen_t len = sizeof sin;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &len);
    port_ = ntohs(sin.sin_port);
    for (int i = 0; i < 8 && !hanging_; ++i) {  // connect until one no longer completes
      int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      connect(c, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
      fillers_.push_back(c);
      pollfd p{c, POLLOUT, 0};
      hanging_ = poll(&p, 1, 300) == 0;
    }
  }
  ~HangingListener() {
    for (int c : fillers_) close(c);
    close(fd_);
  }
  bool hanging() const { return hanging_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
  bool hanging_ = false;
  std::vector<int> fillers_;
};

// upstream_connect bounds a connect that hangs: the next backend gets the request, or 502 when
// there is none; both well within a second or two.
TEST(ForwardConnectTimeout, AHangingConnectMovesOnToTheNextBackendElse502) {
  HangingListener hang;
  ASSERT_TRUE(hang.hanging()) << "could not make a loopback connect hang";
  FakeBackend b("b1");
  DetourProcess d(R"(version: 1
server:
  listen: ["127.0.0.1:0"]
  workers: 1
  timeouts: { upstream_connect: 300ms, upstream_response: 5s }
admin: { listen: "127.0.0.1:0" }
log: { level: info, access: off }
pools:
  hang-first: { backends: [")" + hang.address() + "\", \"" + b.address() + R"("] }
  hang-only: { backends: [")" + hang.address() + R"("] }
rules:
  - name: only
    match: { path_prefix: /only/ }
    forward: { pool: hang-only }
  - name: first
    forward: { pool: hang-first }
)");
  ASSERT_TRUE(d.ready());
  const std::string timed_out = "detour_upstream_errors_total{pool=\"hang-first\",backend=\"" +
                                hang.address() + "\",kind=\"connect_timeout\"}";
  auto t0 = std::chrono::steady_clock::now();
  auto r = httpCall(d.port(), "POST", "/x", "body-1");
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("X-Backend"), "b1");
  EXPECT_EQ(r.body, "POST /x body=6");
  EXPECT_GE(took, 250ms);  // the hanging backend was tried first, for upstream_connect
  EXPECT_LT(took, 2s);
  EXPECT_EQ(metricValue(d.adminPort(), timed_out), 1);
  t0 = std::chrono::steady_clock::now();
  r = httpCall(d.port(), "GET", "/only/x");
  took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, 502);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(d.stop(), 0);
}

#ifdef DETOUR_SANITIZED
constexpr long kStallGrowthKib = 32 * 1024;  // shadow memory and quarantine
#else
constexpr long kStallGrowthKib = 16 * 1024;
#endif

// Samples detour's VmRSS for `window` and returns the largest value seen.
long maxRssOver(pid_t pid, std::chrono::milliseconds window) {
  long rss_max = 0;
  auto until = std::chrono::steady_clock::now() + window;
  while (std::chrono::steady_clock::now() < until) {
    rss_max = std::max(rss_max, vmKib(pid, "VmRSS"));
    std::this_thread::sleep_for(50ms);  // a measuring window: one RSS sample every 50 ms
  }
  return rss_max;
}

// A client that stops reading a 128 MiB download: the backend is stalled by back-pressure and
// detour's RSS stays within its watermarks' worth of the baseline taken before the request.
TEST(ForwardBackPressure, ASlowReadingClientKeepsMemoryBounded) {
  FakeBackend b("b1");
  DetourProcess d(oneBackendConfig(b));
  ASSERT_TRUE(d.ready());
  ASSERT_EQ(httpCall(d.port(), "GET", "/warm").status, 200);
  long baseline = vmKib(d.pid(), "VmRSS");
  ASSERT_GT(baseline, 0);
  RawClient c(d.port());
  ASSERT_TRUE(c.send("GET /big?bytes=" + std::to_string(128u << 20) + " HTTP/1.1\r\nHost: a\r\n\r\n"));
  char buf[16384];
  ASSERT_GT(recv(c.fd(), buf, sizeof buf, 0), 0);  // the response started; now stall
  long rss_max = maxRssOver(d.pid(), 1500ms);
  EXPECT_LT(rss_max - baseline, kStallGrowthKib) << "RSS grew from " << baseline << " to " << rss_max;
}

// A backend that reads an upload slowly (4 KiB per 5 ms): the client is stalled in turn, and
// detour's RSS stays bounded however fast the client sends.
TEST(ForwardBackPressure, ASlowReadingBackendKeepsMemoryBounded) {
  FakeBackend b("b1");
  DetourProcess d(oneBackendConfig(b));
  ASSERT_TRUE(d.ready());
  ASSERT_EQ(httpCall(d.port(), "GET", "/warm").status, 200);
  long baseline = vmKib(d.pid(), "VmRSS");
  RawClient c(d.port());
  constexpr size_t kSize = 128u << 20;
  ASSERT_TRUE(c.send("POST /slow-read?ms=5 HTTP/1.1\r\nHost: a\r\nContent-Length: " +
                     std::to_string(kSize) + "\r\n\r\n"));
  std::atomic<size_t> sent{0};
  std::thread sender([&] {
    std::string block(1 << 20, 'u');
    while (sent < kSize && c.send(block)) sent += block.size();
  });
  long rss_max = maxRssOver(d.pid(), 1500ms);
  size_t sent_then = sent;
  ::shutdown(c.fd(), SHUT_RDWR);  // unblocks the sender
  sender.join();
  linger reset{1, 0};  // the close resets: detour lets the upload go at once
  setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  EXPECT_LT(sent_then, size_t{64} << 20) << "the client was never stalled";
  EXPECT_LT(rss_max - baseline, kStallGrowthKib) << "RSS grew from " << baseline << " to " << rss_max;
}

// The access log records the scheme the rules saw (a trusted proxy's X-Forwarded-Proto) and the
// listener's port, so that `detour diff --replay` decides each logged request as detour did:
// here the new table redirects plain-http requests to https://secure.example:{port}.
TEST(ForwardAccessLog, ReplayUsesTheEffectiveSchemeAndTheListenerPort) {
  TempDir dir;
  for (const char* format : {"json", "combined"}) {
    std::string log_path = dir.path() + "/access-" + format + ".log";
    std::string old_cfg = std::string(R"(version: 1
server: { listen: ["127.0.0.1:0"], workers: 1, trusted_proxies: ["127.0.0.1/32"] }
log: { level: warn, access: { path: ")") + log_path + "\", format: " + format + R"( } }
rules:
  - name: status
    match: { path_prefix: /status }
    respond: { status: 200, body: "ok" }
)";
    std::string new_cfg = old_cfg;
    new_cfg.replace(new_cfg.find("  - name: status"), 0,
                    "  - name: to-https\n    match: { scheme: http }\n"
                    "    redirect: { to: \"https://secure.example:{port}{uri}\" }\n");
    int listener_port = 0;
    {
      DetourProcess d(old_cfg);
      ASSERT_TRUE(d.ready());
      listener_port = d.port();
      for (const char* extra : {"X-Forwarded-Proto: https\r\n", ""}) {
        RawClient c(d.port());
        ASSERT_TRUE(c.send(std::string("GET /status?via=") + (*extra ? "proxy" : "plain") +
                           " HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n" + extra + "\r\n"));
        auto rs = parseResponses(c.readResponses(1));
        ASSERT_EQ(rs.size(), 1u);
        ASSERT_EQ(rs[0].status, 200);
      }
      EXPECT_EQ(d.stop(), 0);  // drains; the access log is written out
    }
    std::string old_path = dir.write("old.yaml", old_cfg);
    std::string new_path = dir.write("new.yaml", new_cfg);
    std::string out;
    int rc = runCommand("'" + detourBinary() + "' diff -c '" + old_path + "' -c '" + new_path +
                            "' --replay '" + log_path + "' 2>&1", out);
    EXPECT_EQ(rc, 1) << out;
    // Only the plain request changes; the one that came through the proxy as https does not.
    EXPECT_NE(out.find("replay: 2 line(s), 0 unreadable, 2 distinct request(s), 1 change outcome (1 request(s))"),
              std::string::npos) << format << "\n" << out;
    EXPECT_NE(out.find("https://secure.example:" + std::to_string(listener_port) + "/status?via=plain"),
              std::string::npos) << format << "\n" << out;
    EXPECT_EQ(out.find("via=proxy"), std::string::npos) << format << "\n" << out;
  }
}

}  // namespace
}  // namespace detour::test

namespace detour::test {
namespace {

// A port nothing listens on right now (bound, then released).
int freePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
  bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
  socklen_t len = sizeof sin;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  close(fd);
  return ntohs(sin.sin_port);
}

bool canConnect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0;
  close(fd);
  return ok;
}

// build/detour-demo-backend on a free port, stopped (by its pid) on destruction.
class DemoBackend {
 public:
  DemoBackend() {
    for (int attempt = 0; attempt < 3 && port_ == 0; ++attempt) {
      int port = freePort();
      pid_ = fork();
      if (pid_ == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        execl(DETOUR_DEMO_BACKEND, DETOUR_DEMO_BACKEND, std::to_string(port).c_str(), nullptr);
        _exit(127);
      }
      bool listening = false, exited = false;
      waitUntil([&] {
        listening = canConnect(port);
        // Exited: the port was taken meanwhile.
        if (!listening) exited = waitpid(pid_, nullptr, WNOHANG) == pid_;
        return listening || exited;
      }, 5s);
      if (listening) {
        port_ = port;
      } else if (exited) {
        pid_ = -1;
      }
    }
  }
  ~DemoBackend() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// The quick start: config/detour.yaml in front of the demo backend (a temp copy with the
// listener, admin and backend ports moved to free ones). A 307, curl -L carrying the POST body
// to the backend, a forwarded /hello and the fixed /status answer.
TEST(DefaultConfigSmoke, TheQuickStartWorksWithTheDemoBackend) {
  DemoBackend demo;
  ASSERT_GT(demo.port(), 0) << "the demo backend did not start";
  std::ifstream in(std::string(DETOUR_SOURCE_DIR) + "/config/detour.yaml");
  std::stringstream text;
  text << in.rdbuf();
  std::string cfg = text.str();
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"127.0.0.1:8080", "127.0.0.1:0"},
                                 {"127.0.0.1:9901", "127.0.0.1:0"},
                                 {"127.0.0.1:9001", "127.0.0.1:" + std::to_string(demo.port())}}) {
    size_t at = cfg.find(from);
    ASSERT_NE(at, std::string::npos) << from << " is no longer in config/detour.yaml";
    cfg.replace(at, from.size(), to);
  }
  DetourProcess d(cfg);
  ASSERT_TRUE(d.ready()) << d.stderrText();
  std::string base = "http://127.0.0.1:" + std::to_string(d.port());

  auto moved = httpCall(d.port(), "POST", "/api/v1/orders", "item=42");
  EXPECT_EQ(moved.status, 307);
  EXPECT_EQ(moved.header("Location"), "/api/v2/orders");

  std::string out;
  ASSERT_EQ(runCommand("curl -sS -L -X POST --data 'item=42' -H 'Expect:' '" + base + "/api/v1/orders'", out), 0) << out;
  EXPECT_NE(out.find("Hello from detour's demo backend"), std::string::npos) << out;
  EXPECT_NE(out.find("POST /api/v2/orders HTTP/1.1"), std::string::npos) << out;
  EXPECT_NE(out.find("\nitem=42\n"), std::string::npos) << out;

  auto hello = httpCall(d.port(), "GET", "/hello");
  EXPECT_EQ(hello.status, 200);
  EXPECT_NE(hello.body.find("GET /hello HTTP/1.1"), std::string::npos) << hello.body;
  EXPECT_NE(hello.body.find("X-Forwarded-For: 127.0.0.1"), std::string::npos) << hello.body;

  auto status = httpCall(d.port(), "GET", "/status");
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(status.body, "ok\n");
  EXPECT_EQ(d.stop(), 0);
}

}  // namespace
}  // namespace detour::test
