// appendUpstreamRequestHead / appendDownstreamResponseHead and asksWebSocketUpgrade: regressions
// found by the fuzzers (tests/fuzz; inputs in tests/fuzz/corpus/*/crash-*) and by review.

#include "http/forwarding_headers.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace detour {
namespace {

MessageHead head(std::vector<HeaderView> headers) {
  MessageHead h;
  h.method = "POST";
  h.target = "/";
  h.headers = std::move(headers);
  h.host = h.find("host");
  h.host_count = h.host.empty() ? 0 : 1;
  return h;
}

// http_request_fuzz crash-connection-drops-content-length (fixed in 15aada4): "Connection:
// content-length" made the rewrite drop Content-Length while the body still followed, so the
// backend read the body as the next request. Framing and Host are never hop-by-hop.
TEST(ForwardingHeadersFuzz, ConnectionNeverDropsFramingOrHostUpstream) {
  for (const char* token : {"content-length", "Transfer-Encoding", "host"}) {
    MessageHead h = head({{"Host", "example.com"},
                          {"Content-Length", "6"},
                          {"Transfer-Encoding", "chunked"},
                          {"Connection", token}});
    UpstreamRequestContext ctx;
    ctx.target = "/";
    ctx.client_ip = "192.0.2.7";
    ctx.scheme = "http";
    ctx.host = "example.com";
    std::string out;
    appendUpstreamRequestHead(out, h, ctx);
    EXPECT_NE(out.find("\r\nContent-Length: 6\r\n"), std::string::npos) << token << ": " << out;
    EXPECT_NE(out.find("\r\nTransfer-Encoding: chunked\r\n"), std::string::npos) << token;
    EXPECT_NE(out.find("\r\nHost: example.com\r\n"), std::string::npos) << token;
    EXPECT_EQ(out.find("Connection"), std::string::npos) << token;
  }
}

// http_response_fuzz crash-connection-drops-content-length (fixed in 15aada4): the same on the
// way back; the client kept the connection and lost the end of the body.
TEST(ForwardingHeadersFuzz, ConnectionNeverDropsFramingDownstream) {
  for (const char* token : {"content-length", "transfer-encoding"}) {
    MessageHead h = head({{"Connection", token}, {"Content-Length", "5"}});
    h.status = 200;
    h.reason = "OK";
    std::string out;
    appendDownstreamResponseHead(out, h, {});
    EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n") << token;
  }
}

UpstreamRequestContext context() {
  UpstreamRequestContext ctx;
  ctx.target = "/";
  ctx.client_ip = "192.0.2.7";
  ctx.scheme = "http";
  ctx.host = "example.com";
  return ctx;
}

// Only an upgrade to websocket alone is one: h2c, or a list that lets the backend pick h2c,
// would turn into a tunnel that carries requests past the rule table (h2c smuggling).
TEST(ForwardingHeadersUpgrade, OnlyWebSocketIsAnUpgrade) {
  struct Case {
    std::vector<HeaderView> upgrade;
    bool expected;
  };
  std::vector<Case> cases = {
      {{{"Upgrade", "websocket"}}, true},
      {{{"Upgrade", "WebSocket"}}, true},
      {{{"Upgrade", " websocket , websocket"}}, true},
      {{{"Upgrade", "h2c"}}, false},
      {{{"Upgrade", "websocket, h2c"}}, false},
      {{{"Upgrade", "websocket"}, {"Upgrade", "h2c"}}, false},
      {{{"Upgrade", "websocket/13"}}, false},
      {{{"Upgrade", ""}}, false},
      {{}, false},
  };
  for (const auto& c : cases) {
    std::vector<HeaderView> fields = {{"Host", "example.com"}, {"Connection", "Upgrade"}};
    fields.insert(fields.end(), c.upgrade.begin(), c.upgrade.end());
    MessageHead h = head(fields);
    h.upgrade = true;
    std::string text = c.upgrade.empty() ? "(none)" : std::string(c.upgrade[0].value);
    EXPECT_EQ(asksWebSocketUpgrade(h), c.expected) << text;
    h.upgrade = false;  // no Connection: upgrade (the parser's flag)
    EXPECT_FALSE(asksWebSocketUpgrade(h)) << text;
  }
}

// A request that is not forwarded as an upgrade loses Upgrade, Connection and the fields
// Connection names.
TEST(ForwardingHeadersUpgrade, ANonWebSocketUpgradeIsStripped) {
  MessageHead h = head({{"Host", "example.com"},
                        {"Connection", "Upgrade, HTTP2-Settings"},
                        {"Upgrade", "h2c"},
                        {"HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA"}});
  h.upgrade = true;
  UpstreamRequestContext ctx = context();
  ctx.upgrade = asksWebSocketUpgrade(h);
  std::string out;
  appendUpstreamRequestHead(out, h, ctx);
  EXPECT_EQ(out,
            "POST / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\nX-Forwarded-Host: example.com\r\n\r\n");
}

// set_headers naming a field detour generates replaces detour's line (sent once, as set).
TEST(ForwardingHeadersSetHeaders, ReplaceGeneratedForwardingFields) {
  MessageHead h = head({{"Host", "example.com"},
                        {"X-Forwarded-For", "6.6.6.6"},
                        {"x-request-id", "from-client"}});
  std::vector<std::pair<std::string, std::string>> set = {{"x-forwarded-for", "10.0.0.1"},
                                                          {"X-Forwarded-Proto", "https"},
                                                          {"X-Forwarded-Host", "h.example"},
                                                          {"X-Request-Id", "fixed"}};
  for (bool trusted : {false, true}) {
    UpstreamRequestContext ctx = context();
    ctx.peer_trusted = trusted;
    ctx.set_headers = &set;
    ctx.request_id = "generated";
    std::string out;
    appendUpstreamRequestHead(out, h, ctx);
    EXPECT_EQ(out,
              "POST / HTTP/1.1\r\nHost: example.com\r\nx-forwarded-for: 10.0.0.1\r\n"
              "X-Forwarded-Proto: https\r\nX-Forwarded-Host: h.example\r\nX-Request-Id: fixed\r\n\r\n")
        << trusted;
  }
}

// A generated request id (the client sent none, or an empty one) replaces the client's field.
TEST(ForwardingHeadersRequestId, AGeneratedIdReplacesAnEmptyOne) {
  MessageHead h = head({{"Host", "example.com"}, {"X-Request-Id", ""}});
  UpstreamRequestContext ctx = context();
  ctx.request_id = "0123456789abcdef0123456789abcdef";
  std::string out;
  appendUpstreamRequestHead(out, h, ctx);
  EXPECT_EQ(out,
            "POST / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\nX-Forwarded-Host: example.com\r\n"
            "X-Request-Id: 0123456789abcdef0123456789abcdef\r\n\r\n");
}

// A 204 never carries Content-Length or Transfer-Encoding to the client (RFC 9110 8.6).
TEST(ForwardingHeadersResponse, NoContentDropsFraming) {
  MessageHead h = head({{"Content-Length", "10"}, {"Transfer-Encoding", "chunked"}, {"ETag", "\"x\""}});
  h.status = 204;
  h.reason = "No Content";
  DownstreamResponseOptions opts;
  opts.drop_framing = true;
  std::string out;
  appendDownstreamResponseHead(out, h, opts);
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\nETag: \"x\"\r\n\r\n");
}

// Review (hardening): X_Forwarded_For from a client reached the backend, where CGI-style
// servers read it as X-Forwarded-For (HTTP_X_FORWARDED_FOR): a forged client address.
TEST(ForwardingHeadersUnderscore, UnderscoredForwardingFieldsNeverReachTheBackend) {
  for (bool trusted : {false, true}) {
    MessageHead h = head({{"Host", "example.com"},
                          {"X_Forwarded_For", "6.6.6.6"},
                          {"x_forwarded-proto", "https"},
                          {"X-Forwarded_Host", "evil.example"},
                          {"X_Custom", "kept"}});
    UpstreamRequestContext ctx;
    ctx.target = "/";
    ctx.client_ip = "192.0.2.7";
    ctx.peer_trusted = trusted;
    ctx.scheme = "http";
    ctx.host = "example.com";
    std::string out;
    appendUpstreamRequestHead(out, h, ctx);
    EXPECT_EQ(out.find("6.6.6.6"), std::string::npos) << out;
    EXPECT_EQ(out.find("evil.example"), std::string::npos) << out;
    EXPECT_EQ(out.find("_forwarded"), std::string::npos) << out;
    EXPECT_EQ(out.find("_Forwarded"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\nX-Forwarded-For: 192.0.2.7\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\nX-Forwarded-Proto: http\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\nX_Custom: kept\r\n"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace detour
