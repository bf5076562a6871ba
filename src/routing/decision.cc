#include "routing/decision.h"

#include "common/string_util.h"

namespace detour {

Decision decide(const RuleTable& table, const RequestView& req, const MatchContext& ctx) {
  Decision d;
  MatchCaptures caps;
  d.rule = table.match(req, ctx, caps);
  if (d.rule == nullptr) return d;
  d.kind = d.rule->kind();
  switch (d.kind) {
    case ActionKind::kRedirect:
      if (!table.redirectHostAllowed(*d.rule, req.host)) {
        d.status = 421;  // a Host outside server.hosts never reaches a Location
        break;
      }
      d.status = d.rule->redirect()->code;
      d.rule->buildLocation(req, caps, d.location);
      break;
    case ActionKind::kRespond:
      d.status = d.rule->respond()->status;
      break;
    case ActionKind::kForward:
      d.status = 0;
      d.pool = d.rule->forward()->pool;
      break;
  }
  return d;
}

bool parseAbsoluteUrl(const std::string& url, ParsedUrl& out) {
  out = ParsedUrl{};
  size_t sep = url.find("://");
  if (sep == std::string::npos) return false;
  std::string scheme = asciiLowerCopy(url.substr(0, sep));
  if (scheme == "http") {
    out.scheme = Scheme::kHttp;
  } else if (scheme == "https") {
    out.scheme = Scheme::kHttps;
  } else {
    return false;
  }
  std::string rest = url.substr(sep + 3);
  size_t path_at = rest.find_first_of("/?");
  std::string authority = rest.substr(0, path_at);
  std::string path_query = path_at == std::string::npos ? "/" : rest.substr(path_at);
  if (authority.empty()) return false;
  size_t colon = authority.rfind(':');
  bool bracket = authority.front() == '[';
  if (colon != std::string::npos && (!bracket || colon > authority.find(']'))) {
    out.host = authority.substr(0, colon);
    out.port = authority.substr(colon + 1);
    if (!parseDecimal(out.port)) return false;
  } else {
    out.host = authority;
    out.port = out.scheme == Scheme::kHttps ? "443" : "80";
  }
  asciiLowerInPlace(out.host);
  if (path_query.front() == '?') path_query = "/" + path_query;
  size_t hash = path_query.find('#');
  if (hash != std::string::npos) path_query.resize(hash);
  size_t q = path_query.find('?');
  out.path = path_query.substr(0, q);
  out.query = q == std::string::npos ? "" : path_query.substr(q);
  return true;
}

}  // namespace detour
