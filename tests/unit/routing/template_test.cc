// Redirect templates: every variable, keep_query, hostile bytes, compile errors, and the
// precomputed headers of redirect and respond actions.

#include <gtest/gtest.h>

#include "routing_test_util.h"

namespace detour::testing {
namespace {

// Compiles one rule (plus nothing else) and returns its Location for `req`.
std::string location(RuleConfig rule, const TestRequest& req) {
  RuntimeState state;
  auto table = compileOk(makeConfig({std::move(rule)}), state);
  if (!table) return "<compile failed>";
  MatchCaptures caps;
  RequestView view = req.view();
  const CompiledRule* r = table->match(view, MatchContext{}, caps);
  if (r == nullptr) return "<no match>";
  std::string out;
  r->buildLocation(view, caps, out);
  return out;
}

RuleConfig redirect(std::string to, bool keep_query = true) {
  RuleConfig r = redirectRule("r", std::move(to));
  redirectOf(r).keep_query = keep_query;
  return r;
}

RuleConfig withPrefix(RuleConfig r, std::string prefix) {
  matchOf(r).path_prefix = std::move(prefix);
  return r;
}

RuleConfig withRegex(RuleConfig r, std::string regex) {
  matchOf(r).path_regex = std::move(regex);
  return r;
}

// True when `s` has only bytes that may appear in a Location header value as we emit it.
bool onlyUriBytes(const std::string& s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7F) return false;
    if (std::string_view("\"<>\\^`{|}").find(static_cast<char>(c)) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

TEST(Template, EveryVariable) {
  TestRequest req = request("GET https://shop.example.com:8443/a/b?x=1");
  EXPECT_EQ(
      location(redirect("/v?s={scheme}&h={host}&p={port}&path={path}&q={query}&u={uri}"), req),
      "/v?s=https&h=shop.example.com&p=8443&path=/a/b&q=?x=1&u=/a/b?x=1");
  EXPECT_EQ(location(redirect("{scheme}://{host}{path}"), request("GET http://h.test/p")),
            "http://h.test/p");
}

TEST(Template, PathSuffix) {
  EXPECT_EQ(location(withPrefix(redirect("/api/v2/{path_suffix}"), "/api/v1/"),
                     request("GET http://e.com/api/v1/orders/7?x=1")),
            "/api/v2/orders/7?x=1");
}

TEST(Template, NumberedAndNamedCaptures) {
  EXPECT_EQ(location(withRegex(redirect("/p/{id}/{1}"), "/u/(?P<id>[0-9]+)"),
                     request("GET http://e.com/u/12")),
            "/p/12/12");
}

TEST(Template, KeepQueryAppendsTheQuery) {
  EXPECT_EQ(location(redirect("/new"), request("GET http://e.com/old?a=1&b=2")), "/new?a=1&b=2");
  EXPECT_EQ(location(redirect("/new"), request("GET http://e.com/old")), "/new");
}

TEST(Template, KeepQueryOffDropsIt) {
  EXPECT_EQ(location(redirect("/new", false), request("GET http://e.com/old?a=1")), "/new");
}

TEST(Template, PlacedQueryIsNotAppendedTwice) {
  TestRequest req = request("GET http://e.com/old?a=1");
  EXPECT_EQ(location(redirect("/n{query}"), req), "/n?a=1");
  EXPECT_EQ(location(redirect("https://x.test{uri}"), req), "https://x.test/old?a=1");
  EXPECT_EQ(location(redirect("/n?fixed=1"), req), "/n?fixed=1");
}

TEST(Template, PlacesQueryAndMaxGroup) {
  std::string error;
  auto t = Template::compile("/a/{2}?x", {false, nullptr, "to"}, &error);
  EXPECT_FALSE(t.has_value());  // {2} without a regex
  t = Template::compile("/a{uri}", {}, &error);
  ASSERT_TRUE(t.has_value()) << error;
  EXPECT_TRUE(t->placesQuery());
  EXPECT_EQ(t->maxGroup(), 0);
  EXPECT_EQ(t->submatchCount(), 0);
  EXPECT_EQ(t->text(), "/a{uri}");
  t = Template::compile("/plain", {}, &error);
  ASSERT_TRUE(t.has_value());
  EXPECT_FALSE(t->placesQuery());
}

TEST(Template, PercentEncodedInputIsNeverDecoded) {
  TestRequest req = request("GET http://e.com/a%0D%0ASet-Cookie:%20x?q=%0D%0A");
  EXPECT_EQ(location(redirect("{uri}"), req), "/a%0D%0ASet-Cookie:%20x?q=%0D%0A");
  EXPECT_EQ(location(redirect("/n{path}"), req), "/n/a%0D%0ASet-Cookie:%20x?q=%0D%0A");
}

// A '%' that starts no valid escape stands for itself; valid escapes are kept verbatim.
TEST(Template, MalformedPercentIsEncoded) {
  TestRequest req = request("GET http://e.com/s/%zz%0");
  EXPECT_EQ(location(withPrefix(redirect("{path_suffix}"), "/s"), req), "/%25zz%250");
  std::string out;
  appendUriSafe(out, "%41%4%%2f%g1%");
  EXPECT_EQ(out, "%41%254%25%2f%25g1%25");
  EXPECT_EQ(location(redirect("/a%zz/%20"), request("GET http://e.com/")), "/a%25zz/%20");
}

// Issue 8 audit: "/old//evil.com" must not answer "Location: //evil.com" (protocol-relative:
// the browser would go to evil.com). The second slash becomes %2F; the path is unchanged.
TEST(Template, ValueCannotStartAProtocolRelativeLocation) {
  TestRequest req = request("GET http://e.com/old//evil.com");
  EXPECT_EQ(location(withPrefix(redirect("{path_suffix}"), "/old"), req), "/%2Fevil.com");
  EXPECT_EQ(location(withPrefix(redirect("/{path_suffix}"), "/old/"), req), "/%2Fevil.com");
  EXPECT_EQ(location(withPrefix(redirect("/{path_suffix}"), "/old"), req), "/%2F/evil.com");
  EXPECT_EQ(location(withRegex(redirect("{1}"), "/old(/.*)"), req), "/%2Fevil.com");
  TestRequest root = request("GET http://e.com//evil.com?q");
  EXPECT_EQ(location(redirect("{path}"), root), "/%2Fevil.com?q");
  EXPECT_EQ(location(redirect("{uri}"), root), "/%2Fevil.com?q");
  EXPECT_EQ(location(redirect("{host}{path}"), root), "e.com//evil.com?q");  // a relative path
  // A value's single slash followed by the template's own.
  EXPECT_EQ(location(withRegex(redirect("{1}/x"), "(/).*"), request("GET http://e.com/a")),
            "/%2Fx");
}

TEST(Template, TemplateTextMayStillStartWithTwoSlashes) {
  TestRequest req = request("GET http://e.com//a");
  EXPECT_EQ(location(redirect("//cdn.test{path}"), req), "//cdn.test//a");
  EXPECT_EQ(location(redirect("//{host}{path}"), req), "//e.com//a");
  EXPECT_EQ(location(redirect("https://x.test{path}"), req), "https://x.test//a");
  // Past the start of the path, repeated slashes are the client's business.
  EXPECT_EQ(location(withPrefix(redirect("/n/{path_suffix}"), "/o"), request("GET http://e.com/o//b")),
            "/n///b");
}

TEST(Template, ValueCannotNameTheScheme) {
  TestRequest req = request("GET http://e.com/https://evil.com/");
  EXPECT_EQ(location(withRegex(redirect("{1}"), "/(.*)"), req), "https%3A//evil.com/");
  EXPECT_EQ(location(withRegex(redirect("{1}"), "/(.*)"), request("GET http://e.com/a:b:c/d:e")),
            "a%3Ab%3Ac/d:e");
  EXPECT_EQ(location(redirect("{scheme}://{host}{path}"), request("GET https://h.test/p:q")),
            "https://h.test/p:q");
}

// A literal scheme with no '//' after it ("https:{path}", "https:/{path}") would let the
// request's value supply the host (browsers read "https:/evil.com" as https://evil.com/): such
// templates are refused when the config is compiled (TemplateErrorTest's
// SchemeWithoutAuthority), so no request ever reaches them.
TEST(Template, ValueAfterALiteralSchemeCannotSupplyTheAuthority) {
  for (const char* to : {"https:{path}", "https:/{path}", "HTTP:{path}", "{scheme}:/{path}"}) {
    std::string error;
    EXPECT_FALSE(Template::compile(to, {}, &error).has_value()) << to;
    EXPECT_NE(error.find("names a scheme without '//'"), std::string::npos) << error;
  }
  EXPECT_EQ(location(redirect("https://e.com{path}"), request("GET http://e.com//evil.com")),
            "https://e.com//evil.com");
}

TEST(Template, RawHostileBytesArePercentEncoded) {
  TestRequest req = request("GET http://e.com/x");
  req.path = std::string("/a\r\nSet-Cookie: x\0y", 19);
  req.query = std::string("?q=\r\n\0 \"<>", 10);
  std::string out = location(redirect("/n{path}"), req);
  EXPECT_EQ(out, "/n/a%0D%0ASet-Cookie:%20x%00y?q=%0D%0A%00%20%22%3C%3E");
  EXPECT_TRUE(onlyUriBytes(out)) << out;
}

TEST(Template, Utf8IsPercentEncoded) {
  TestRequest req = request("GET http://e.com/x");
  req.path = "/caf\xC3\xA9";
  EXPECT_EQ(location(redirect("{path}"), req), "/caf%C3%A9");
}

TEST(Template, CapturesAndSuffixAreEncoded) {
  TestRequest req = request("GET http://e.com/x");
  req.path = "/c/\r\n x";
  EXPECT_EQ(location(withRegex(redirect("/d/{1}"), "(?s)/c/(.*)"), req), "/d/%0D%0A%20x");
  EXPECT_EQ(location(withPrefix(redirect("/d/{path_suffix}"), "/c/"), req), "/d/%0D%0A%20x");
}

TEST(Template, HostAndPortAreEncoded) {
  TestRequest req = request("GET http://e.com/x");
  req.host = "evil\r\n.com";
  req.port = "80\r\n";
  std::string out = location(redirect("https://{host}:{port}/"), req);
  EXPECT_EQ(out, "https://evil%0D%0A.com:80%0D%0A/");
}

TEST(Template, LiteralTextIsEncodedToo) {
  EXPECT_EQ(location(redirect("/a b|c"), request("GET http://e.com/")), "/a%20b%7Cc");
}

// Every byte value in every request-derived slot: the output stays inside URI bytes. The
// regex rule takes what RE2's '.' accepts; the prefix rule after it takes the rest (a raw
// newline, bytes that are not UTF-8).
TEST(Template, NoByteValueEscapesEncoding) {
  RuleConfig by_regex = withRegex(redirect("{scheme}://{host}:{port}{path}/{1}{query}"), "/(.*)");
  RuleConfig by_prefix = withPrefix(redirect("//{host}:{port}{uri}/{path_suffix}"), "/");
  by_prefix.name = "p";
  RuntimeState state;
  auto table = compileOk(makeConfig({by_regex, by_prefix}), state);
  ASSERT_TRUE(table);
  for (int b = 0; b < 256; ++b) {
    std::string byte(1, static_cast<char>(b));
    TestRequest req = request("GET http://e.com/x");
    req.host = "h" + byte;
    req.port = byte;
    req.path = "/p" + byte + "q";
    req.query = "?" + byte;
    MatchCaptures caps;
    RequestView view = req.view();
    const CompiledRule* rule = table->match(view, MatchContext{}, caps);
    ASSERT_NE(rule, nullptr) << b;
    std::string out;
    rule->buildLocation(view, caps, out);
    EXPECT_TRUE(onlyUriBytes(out)) << "byte " << b << ": " << out;
    EXPECT_EQ(out.find('\0'), std::string::npos);
  }
}

TEST(Template, AppendUriSafeKeepsAllowedBytes) {
  std::string out;
  appendUriSafe(out, "/a-b_c.d~e!$&'()*+,;=:@%2F?#[]");
  EXPECT_EQ(out, "/a-b_c.d~e!$&'()*+,;=:@%2F?#[]");
  out.clear();
  appendUriSafe(out, std::string("\x7F\x80\xFF\x01", 4));
  EXPECT_EQ(out, "%7F%80%FF%01");
}

// --- compile errors: message and position (redirect.to_pos).

struct ErrorCase {
  std::string name;
  RuleConfig rule;
  std::string message;
};
std::ostream& operator<<(std::ostream& os, const ErrorCase& c) { return os << c.name; }

class TemplateErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(TemplateErrorTest, ReportsAtTo) {
  RuntimeState state;
  Diagnostics diags;
  Config config = makeConfig({GetParam().rule});
  auto table = RuleTable::compile(config, state, diags);
  EXPECT_EQ(table, nullptr);
  ASSERT_EQ(diags.all().size(), 1u) << diags.formatAll();
  const Diagnostic& d = diags.all()[0];
  EXPECT_EQ(d.severity, Severity::kError);
  EXPECT_EQ(d.message, GetParam().message);
  EXPECT_EQ(d.pos.line, 103);  // makeConfig puts rule 0's `to` at line 103
  EXPECT_EQ(d.pos.col, 17);
  EXPECT_EQ(d.format().rfind("test.yaml:103:17: error: rule 'r': ", 0), 0u) << d.format();
}

std::string sixteenGroups() {
  std::string re = "/";
  for (int i = 0; i < 15; ++i) re += "([a-z])";
  return re + "(?P<last>[a-z])";
}

INSTANTIATE_TEST_SUITE_P(
    Errors, TemplateErrorTest,
    ::testing::Values(
        ErrorCase{"UnknownVariable", redirect("https://{hots}{uri}"),
                  "rule 'r': unknown variable '{hots}' in 'to'; did you mean '{host}'? "
                  "(variables: {scheme} {host} {port} {path} {query} {uri})"},
        ErrorCase{"UnknownVariableNoSuggestion", redirect("/{zzzzzz}"),
                  "rule 'r': unknown variable '{zzzzzz}' in 'to' "
                  "(variables: {scheme} {host} {port} {path} {query} {uri})"},
        ErrorCase{"UnknownVariableListsCaptures",
                  withPrefix(withRegex(redirect("/{nmae}"), "/(?P<name>[a-z]+)/([0-9]+)"), "/"),
                  "rule 'r': unknown variable '{nmae}' in 'to'; did you mean '{name}'? "
                  "(variables: {scheme} {host} {port} {path} {query} {uri} {path_suffix} {1} "
                  "{2} {name})"},
        ErrorCase{"PathSuffixWithoutPrefix", redirect("/new/{path_suffix}"),
                  "rule 'r': '{path_suffix}' in 'to' needs a 'path_prefix' in the rule's match"},
        ErrorCase{"GroupWithoutRegex", redirect("/new/{1}"),
                  "rule 'r': '{1}' in 'to' needs a 'path_regex' in the rule's match"},
        ErrorCase{"GroupBeyondRegex", withRegex(redirect("/new/{3}"), "/(a)/(b)"),
                  "rule 'r': '{3}' in 'to': the path_regex has only 2 capture groups"},
        ErrorCase{"GroupBeyondOneGroup", withRegex(redirect("/new/{2}"), "/(a)"),
                  "rule 'r': '{2}' in 'to': the path_regex has only 1 capture group"},
        ErrorCase{"GroupTooHigh", withRegex(redirect("/new/{16}"), sixteenGroups()),
                  "rule 'r': '{16}' in 'to' refers to capture group 16; at most 15 capture "
                  "groups can be used"},
        ErrorCase{"NamedGroupTooHigh", withRegex(redirect("/new/{last}"), sixteenGroups()),
                  "rule 'r': '{last}' in 'to' refers to capture group 16; at most 15 capture "
                  "groups can be used"},
        ErrorCase{"SchemeWithoutAuthority", withRegex(redirect("https:/{1}"), "/go/(.*)"),
                  "rule 'r': 'https:/{1}' in 'to' names a scheme without '//' after it, and "
                  "browsers read what follows as the host: write 'https://host/path', or a path "
                  "starting with '/'"},
        ErrorCase{"SchemeVariableWithoutAuthority", redirect("{scheme}:{host}{uri}"),
                  "rule 'r': '{scheme}:{host}{uri}' in 'to' names a scheme without '//' after "
                  "it, and browsers read what follows as the host: write '{scheme}://host/path', "
                  "or a path starting with '/'"},
        ErrorCase{"UnbalancedOpen", redirect("/a{host"),
                  "rule 'r': unbalanced '{' in 'to' at offset 2; variables are written "
                  "'{name}'"},
        ErrorCase{"UnbalancedNested", redirect("/a{ho{st}"),
                  "rule 'r': unbalanced '{' in 'to' at offset 2; variables are written "
                  "'{name}'"},
        ErrorCase{"UnbalancedClose", redirect("/a}b"),
                  "rule 'r': unbalanced '}' in 'to' at offset 2; variables are written "
                  "'{name}'"},
        ErrorCase{"EmptyVariable", redirect("/a{}"),
                  "rule 'r': empty variable '{}' in 'to' "
                  "(variables: {scheme} {host} {port} {path} {query} {uri})"},
        ErrorCase{"EmptyTo", redirect(""), "rule 'r': 'to' is empty; give the target URL or path"}),
    CaseName());

// --- other compile errors

TEST(RuleCompileErrors, BadRegexUnknownFlagAndPool) {
  RuleConfig bad_regex = forwardRule("bad-regex");
  matchOf(bad_regex).path_regex = "/(unclosed";
  RuleConfig bad_header = forwardRule("bad-header");
  matchOf(bad_header).headers = {headerRegex("X-A", "[z-a]")};
  matchOf(bad_header).headers[0].pos = {7, 9};
  RuleConfig bad_flag = forwardRule("bad-flag");
  bad_flag.when = {WhenConfig::Kind::kFlag, "nope", {5, 6}};
  RuleConfig bad_pool = forwardRule("bad-pool", "missing");
  RuleConfig bad_pool_down = forwardRule("bad-pool-down");
  bad_pool_down.when = {WhenConfig::Kind::kPoolDown, "gone", {8, 6}};
  RuntimeState state;
  Diagnostics diags;
  auto table = RuleTable::compile(
      makeConfig({bad_regex, bad_header, bad_flag, bad_pool, bad_pool_down}), state, diags);
  EXPECT_EQ(table, nullptr);
  ASSERT_EQ(diags.errorCount(), 5u) << diags.formatAll();
  EXPECT_NE(diags.all()[0].message.find("rule 'bad-regex': bad path_regex '/(unclosed'"),
            std::string::npos);
  EXPECT_EQ(diags.all()[0].pos.line, 101);
  EXPECT_NE(diags.all()[1].message.find("rule 'bad-header': bad regex for header 'X-A'"),
            std::string::npos);
  EXPECT_EQ(diags.all()[1].pos.line, 7);
  EXPECT_EQ(diags.all()[2].message,
            "rule 'bad-flag': unknown flag 'nope' in 'when'; declare it under 'flags:'");
  EXPECT_EQ(diags.all()[2].pos.line, 5);
  EXPECT_EQ(diags.all()[3].message,
            "rule 'bad-pool': unknown pool 'missing'; declare it under 'pools:'");
  EXPECT_EQ(diags.all()[4].message,
            "rule 'bad-pool-down': unknown pool 'gone' in 'when'; declare it under 'pools:'");
}

TEST(RuleCompileErrors, FailedCompileLeavesRuntimeStateAlone) {
  RuntimeState state;
  Config config = makeConfig({redirect("/{hots}")});
  config.flags[0].default_value = true;
  Diagnostics diags;
  EXPECT_EQ(RuleTable::compile(config, state, diags), nullptr);
  EXPECT_EQ(state.findFlag("maint"), nullptr);
  EXPECT_EQ(state.findPool("app"), nullptr);
}

// --- precomputed headers

CompiledRedirect compiledRedirect(RuleConfig r) {
  RuntimeState state;
  auto table = compileOk(makeConfig({std::move(r)}), state);
  return table ? *table->rule(0).redirect() : CompiledRedirect{};
}

TEST(RedirectHeaders, CacheControlDefaultsByCode) {
  for (int code : {302, 303, 307}) {
    CompiledRedirect r = compiledRedirect(redirectRule("r", "/x", code));
    EXPECT_EQ(r.extra_headers, "Cache-Control: no-cache\r\n") << code;
    EXPECT_EQ(r.cache_control, "no-cache");
    EXPECT_EQ(r.code, code);
  }
  for (int code : {301, 308}) {
    CompiledRedirect r = compiledRedirect(redirectRule("r", "/x", code));
    EXPECT_EQ(r.extra_headers, "") << code;
    EXPECT_FALSE(r.cache_control.has_value());
  }
}

TEST(RedirectHeaders, ExplicitCacheControlAndRetryAfter) {
  RuleConfig none = redirectRule("r", "/x", 307);
  redirectOf(none).cache_control = "";
  redirectOf(none).retry_after = 120;
  EXPECT_EQ(compiledRedirect(none).extra_headers, "Retry-After: 120\r\n");

  RuleConfig both = redirectRule("r", "/x", 307);
  redirectOf(both).retry_after = 5;
  EXPECT_EQ(compiledRedirect(both).extra_headers, "Cache-Control: no-cache\r\nRetry-After: 5\r\n");

  RuleConfig permanent = redirectRule("r", "/x", 301);
  redirectOf(permanent).cache_control = "max-age=3600";
  EXPECT_EQ(compiledRedirect(permanent).extra_headers, "Cache-Control: max-age=3600\r\n");
}

TEST(RedirectHeaders, AppendQueryFlag) {
  EXPECT_TRUE(compiledRedirect(redirect("/x")).append_query);
  EXPECT_FALSE(compiledRedirect(redirect("/x", false)).append_query);
  EXPECT_FALSE(compiledRedirect(redirect("/x{uri}")).append_query);
}

CompiledRespond compiledRespond(RuleConfig r) {
  RuntimeState state;
  auto table = compileOk(makeConfig({std::move(r)}), state);
  return table ? *table->rule(0).respond() : CompiledRespond{};
}

TEST(RespondHeaders, ConfiguredHeadersInOrder) {
  RuleConfig r = respondRule("status", 200, "ok\n");
  std::get<RespondAction>(r.action).headers = {{"content-type", "text/plain"}, {"X-A", "1"}};
  CompiledRespond c = compiledRespond(r);
  EXPECT_EQ(c.extra_headers, "content-type: text/plain\r\nX-A: 1\r\n");
  EXPECT_EQ(c.body, "ok\n");
  EXPECT_EQ(c.status, 200);
}

TEST(RespondHeaders, DefaultContentTypeOnlyWithABody) {
  EXPECT_EQ(compiledRespond(respondRule("r", 503, "down")).extra_headers,
            "Content-Type: text/plain; charset=utf-8\r\n");
  EXPECT_EQ(compiledRespond(respondRule("r", 204, "")).extra_headers, "");
}

TEST(RespondHeaders, ControlCharactersAreACompileError) {
  RuleConfig r = respondRule("r", 200, "x");
  std::get<RespondAction>(r.action).headers = {{"X-A", "1\r\nSet-Cookie: a=b"}};
  RuntimeState state;
  Diagnostics diags;
  EXPECT_EQ(RuleTable::compile(makeConfig({r}), state, diags), nullptr);
  EXPECT_EQ(diags.errorCount(), 1u);
}

}  // namespace
}  // namespace detour::testing
