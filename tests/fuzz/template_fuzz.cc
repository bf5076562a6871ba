// Fuzzes redirect templates: Template::compile on any text, for a rule that has a path_prefix
// and a path_regex with named and numbered groups, then expansion with fuzz-chosen request
// values; and the same text as the `to` of a compiled rule, expanded through match() and
// buildLocation() as the server does.
//
// Input: text lines, '\n'-separated:
//   1  path and query  "/p/docs/42/x?y=1" (kPrefix and kRegex below decide what is captured)
//   2  host
//   3  port
//   4  scheme          "https" or anything else for http
//   5+ the template, to the end of the input (newlines included)
//
// Invariants:
//   - compile() either succeeds or fails with a message; it never crashes;
//   - an expansion holds only URI bytes: nothing below 0x21, no DEL or bytes >= 0x80, none of
//     " < > \ ^ ` { | } — so no CR, LF, NUL or other control, whatever the template text and
//     the request values (rule_table.h, Template);
//   - the scheme and the authority come only from the template's text: a Location that starts
//     with "//" (protocol-relative: another site) comes from a text that starts with "//";
//     a Location with a scheme has the text's own scheme ({scheme} included), and the "//"
//     after it only when the text has it there (docs/security.md, open redirects);
//   - the compiled rule agrees: when the loader would accept the text as `to`, the rule's
//     Location obeys the same.

#include <re2/re2.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/string_util.h"
#include "fuzz_util.h"
#include "routing/rule_table.h"
#include "routing/runtime_state.h"

namespace detour::fuzz {
namespace {

constexpr char kPrefix[] = "/p";
// Four groups, two of them named; matches every path that starts with "/p".
constexpr char kRegex[] = "/p(?P<section>/[^/]*)?(?P<id>/[0-9]*)?((/.*)?)";

const re2::RE2& regex() {
  static const re2::RE2* re = new re2::RE2(kRegex);
  return *re;
}

// What match() would capture for this rule: the regex groups (whole path, anchored) and the
// path after the prefix. Group views point into `path`.
MatchCaptures capture(std::string_view path) {
  MatchCaptures caps;
  const re2::RE2& re = regex();
  int n = std::min(re.NumberOfCapturingGroups() + 1, MatchCaptures::kMaxGroups);
  std::vector<re2::StringPiece> groups(static_cast<size_t>(n));
  if (re.Match(re2::StringPiece(path.data(), path.size()), 0, path.size(), re2::RE2::ANCHOR_BOTH,
               groups.data(), n)) {
    caps.group_count = n;
    for (int g = 0; g < n; ++g)
      caps.groups[g] = std::string_view(groups[g].data(), groups[g].size());
  }
  if (startsWith(path, kPrefix)) caps.path_suffix = path.substr(sizeof(kPrefix) - 1);
  return caps;
}

bool schemeChar(char c, bool first) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  return alpha || (!first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
}

// The length of the scheme and its ':' at the start of `s` ("https:" -> 6), or 0.
size_t schemeLength(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && schemeChar(s[i], i == 0)) ++i;
  return i > 0 && i < s.size() && s[i] == ':' ? i + 1 : 0;
}

// The template text before its first request value, {scheme} written out: what the Location
// starts with, up to percent-encoding (which never touches a scheme character, ':' or '/').
std::string trustedPrefix(std::string_view text, Scheme scheme) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{') {
      out += text[i];
    } else if (text.substr(i, 8) == "{scheme}") {
      out += scheme == Scheme::kHttps ? "https" : "http";
      i += 7;
    } else {
      break;
    }
  }
  return out;
}

void checkAuthority(std::string_view text, Scheme scheme, std::string_view location,
                    const char* what) {
  std::string trusted = trustedPrefix(text, scheme);
  auto report = [&](const char* problem) {
    return std::string(what) + ": " + problem + ": " + printable(text) + " -> " + printable(location);
  };
  size_t n = schemeLength(location);
  if (n == 0) {
    FUZZ_CHECK(!startsWith(location, "//") || startsWith(trusted, "//"),
               report("a value made the Location protocol-relative"));
    return;
  }
  FUZZ_CHECK(std::string_view(trusted).substr(0, n) == location.substr(0, n),
             report("a value named the scheme"));
  if (location.substr(n, 2) == "//")
    FUZZ_CHECK(std::string_view(trusted).substr(n, 2) == "//", report("a value gave the authority"));
}

// Through the rule compiler, the index and buildLocation().
void checkThroughRule(std::string_view text, const RequestView& req) {
  Config config;
  config.file = "template_fuzz.yaml";
  RuleConfig rule;
  rule.name = "t";
  rule.pos = {1, 1};
  MatchConfig match;
  match.path_prefix = kPrefix;
  match.path_regex = kRegex;
  rule.match = match;
  RedirectAction redirect;
  redirect.to = std::string(text);
  redirect.to_pos = {2, 1};
  rule.action = redirect;
  config.rules.push_back(rule);
  RuntimeState state;
  Diagnostics diags;
  auto table = RuleTable::compile(config, state, diags);
  if (!table) return;
  MatchCaptures caps;
  const CompiledRule* r = table->match(req, MatchContext{}, caps);
  if (r == nullptr) return;
  std::string location;
  r->buildLocation(req, caps, location);
  FUZZ_CHECK(onlyUriBytes(location), "buildLocation: " + printable(location));
  checkAuthority(text, req.scheme, location, "buildLocation");
}

}  // namespace
}  // namespace detour::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace detour;
  using namespace detour::fuzz;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> f = splitFields(input, 5);
  std::string_view target = f[0];
  size_t q = target.find('?');
  RequestView req;
  req.path = target.substr(0, q);
  req.query = q == std::string_view::npos ? std::string_view() : target.substr(q);
  req.host = f[1];
  req.port = f[2];
  req.scheme = f[3] == "https" ? Scheme::kHttps : Scheme::kHttp;
  req.method = "GET";
  std::string_view text = f[4];

  Template::Context ctx;
  ctx.has_path_prefix = true;
  ctx.regex = &regex();
  std::string error;
  std::optional<Template> t = Template::compile(text, ctx, &error);
  if (!t) {
    FUZZ_CHECK(!error.empty(), "compile failed without a message: " + printable(text));
    return 0;
  }
  FUZZ_CHECK(t->text() == text, "text() differs");
  FUZZ_CHECK(t->maxGroup() >= 0 && t->maxGroup() < MatchCaptures::kMaxGroups,
             "maxGroup " + std::to_string(t->maxGroup()));
  std::string out;
  t->expand(req, capture(req.path), out);
  FUZZ_CHECK(onlyUriBytes(out), "expansion of " + printable(text) + ": " + printable(out));
  checkAuthority(text, req.scheme, out, "expand");
  std::string empty_out;
  t->expand(RequestView{}, MatchCaptures{}, empty_out);
  FUZZ_CHECK(onlyUriBytes(empty_out), "expansion for an empty request: " + printable(empty_out));
  checkAuthority(text, RequestView{}.scheme, empty_out, "expand (empty request)");
  if (!req.path.empty() && req.path.front() == '/') checkThroughRule(text, req);
  return 0;
}
