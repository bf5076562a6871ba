// The redirect-loop lint: build one request the rule matches, follow its redirect the way a
// client would, and see whether the same rule matches the follow-up request.

#include <optional>

#include "common/string_util.h"
#include "routing/rule_lint_internal.h"

namespace detour {
namespace {

// Owns the bytes a RequestView points into.
struct SampleRequest {
  std::string method = "GET";
  Scheme scheme = Scheme::kHttp;
  std::string host = "example.com";
  std::string port;
  std::string path = "/";
  std::string query;
  std::vector<HeaderView> headers;  // point into the rule's config

  RequestView view() const {
    RequestView v;
    v.method = method;
    v.scheme = scheme;
    v.host = host;
    v.port = port;
    v.path = path;
    v.query = query;
    v.headers = headers;
    return v;
  }
  std::string describe() const {
    return method + (scheme == Scheme::kHttps ? " https://" : " http://") + host + path + query;
  }
};

// A request the rule's match block accepts, or nullopt when one can't be built cheaply
// (a path_regex without an exact path, or a header regex).
std::optional<SampleRequest> sampleFor(const RuleConfig& rule) {
  SampleRequest s;
  if (!rule.match) return s;
  const MatchConfig& m = *rule.match;
  if (m.path_regex && !m.path) return std::nullopt;
  if (!m.hosts.empty()) {
    std::string host = asciiLowerCopy(m.hosts.front());
    s.host = startsWith(host, "*.") ? "x" + host.substr(1) : host;
  }
  if (m.scheme) s.scheme = *m.scheme;
  if (m.path) {
    s.path = *m.path;
  } else if (m.path_prefix) {
    s.path = *m.path_prefix + "x";
  }
  if (!m.methods.empty()) s.method = m.methods.front();
  for (const HeaderMatchConfig& h : m.headers) {
    if (h.is_regex) return std::nullopt;
    s.headers.push_back({h.name, trimOws(h.value)});
  }
  return s;
}

// Splits "path?query#fragment" into the request's path and query.
void setPathAndQuery(std::string_view ref, SampleRequest& next) {
  ref = ref.substr(0, ref.find('#'));
  size_t q = ref.find('?');
  next.path = std::string(ref.substr(0, q));
  next.query = q == std::string_view::npos ? "" : std::string(ref.substr(q));
  if (next.path.empty()) next.path = "/";
}

// The request a client sends after following `location` from `from`; nullopt when it
// leaves HTTP(S).
std::optional<SampleRequest> follow(const SampleRequest& from, std::string_view location,
                                    bool* absolute) {
  SampleRequest next = from;
  *absolute = false;
  std::string lower = asciiLowerCopy(location.substr(0, 8));
  std::string_view rest = location;
  if (startsWith(lower, "http://") || startsWith(lower, "https://")) {
    next.scheme = startsWith(lower, "https") ? Scheme::kHttps : Scheme::kHttp;
    rest = location.substr(location.find("//"));
  } else if (location.find(':') < location.find_first_of("/?#")) {
    return std::nullopt;  // mailto:, ftp:, ...
  }
  if (startsWith(rest, "//")) {
    *absolute = true;
    rest.remove_prefix(2);
    size_t end = std::min(rest.find_first_of("/?#"), rest.size());
    std::string_view authority = rest.substr(0, end);
    if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
      authority.remove_prefix(at + 1);
    }
    size_t colon = authority.rfind(':');
    bool has_port =
        colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos;
    next.host = asciiLowerCopy(has_port ? authority.substr(0, colon) : authority);
    next.port = has_port ? std::string(authority.substr(colon + 1)) : "";
    rest.remove_prefix(end);
  }
  if (!startsWith(rest, "/") && !rest.empty() && rest.front() != '?') {
    // A relative reference: resolved against the directory of the current path.
    std::string base = from.path.substr(0, from.path.rfind('/') + 1);
    setPathAndQuery(base + std::string(rest), next);
  } else if (startsWith(rest, "?")) {
    setPathAndQuery(from.path + std::string(rest), next);
  } else {
    setPathAndQuery(rest, next);
  }
  return next;
}

}  // namespace

void lintRedirectLoop(const CompiledRule& rule, const std::string& file, Diagnostics& diags) {
  const CompiledRedirect* redirect = rule.redirect();
  if (redirect == nullptr) return;
  std::optional<SampleRequest> sample = sampleFor(rule.config());
  MatchCaptures caps;
  if (!sample || !rule.matchesRequest(sample->view(), caps)) return;
  std::string location;
  rule.buildLocation(sample->view(), caps, location);

  bool absolute = false;
  std::optional<SampleRequest> next = follow(*sample, location, &absolute);
  if (!next) return;
  // Without a host condition detour can't tell whether it serves another host too: a target
  // on another host counts as leaving.
  bool has_hosts = rule.config().match && !rule.config().match->hosts.empty();
  if (absolute && !has_hosts && next->host != sample->host) return;
  if (redirect->code == 303) next->method = "GET";
  MatchCaptures next_caps;
  if (!rule.matchesRequest(next->view(), next_caps)) return;

  const auto& action = std::get<RedirectAction>(rule.config().action);
  diags.warning(file, lintPos(rule.config(), action.to_pos),
                "rule '" + rule.name() +
                    "' redirects to a URL it matches itself (a loop): " + sample->describe() +
                    " -> " + location + "; change 'to' or narrow the rule's match");
}

}  // namespace detour
