#include "cli/request_spec.h"

#include "common/string_util.h"
#include "http/codes.h"

namespace detour {

std::string RequestSpec::parseLine(const std::string& line) {
  size_t sp = line.find(' ');
  if (sp == std::string::npos) return "expected 'METHOD URL', got '" + line + "'";
  method = line.substr(0, sp);
  std::string url_text = std::string(trimOws(line.substr(sp + 1)));
  return setUrl(url_text);
}

std::string RequestSpec::setUrl(const std::string& url_text) {
  if (!parseAbsoluteUrl(url_text, url))
    return "'" + url_text + "' is not an absolute http:// or https:// URL";
  return {};
}

std::string RequestSpec::addHeader(const std::string& header) {
  size_t colon = header.find(':');
  if (colon == std::string::npos || colon == 0) return "expected 'Name: value', got '" + header + "'";
  headers.emplace_back(header.substr(0, colon), std::string(trimOws(header.substr(colon + 1))));
  return {};
}

RequestView RequestSpec::view() {
  header_views.clear();
  bool has_host = false;
  for (const auto& [n, v] : headers) {
    header_views.push_back({n, v});
    has_host = has_host || equalsIgnoreCase(n, "host");
  }
  RequestView r;
  r.method = method;
  r.scheme = url.scheme;
  r.host = url.host;
  r.port = url.port;
  r.path = url.path;
  r.query = url.query;
  r.headers = header_views;
  return r;
}

std::string describeDecision(const Decision& d) {
  if (d.rule == nullptr) return "no rule -> 404";
  std::string out = "rule '" + d.rule->name() + "' -> ";
  switch (d.kind) {
    case ActionKind::kRedirect:
      out += std::to_string(d.status) + " " + d.location;
      break;
    case ActionKind::kRespond:
      out += std::to_string(d.status) + " (respond)";
      break;
    case ActionKind::kForward:
      out += "forward to pool '" + d.pool + "'";
      if (d.status != 0) out += ": down -> " + std::to_string(d.status);
      break;
  }
  return out;
}

bool applyPoolDown(Decision& d, RuntimeState& state) {
  if (d.rule == nullptr || d.kind != ActionKind::kForward) return false;
  PoolCell* cell = state.findPool(d.pool);
  if (cell == nullptr || !cell->down.load()) return false;
  d.status = kPoolDownStatus;
  return true;
}

}  // namespace detour
