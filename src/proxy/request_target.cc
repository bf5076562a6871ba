#include "proxy/request_target.h"

#include <array>

#include "common/string_util.h"

namespace detour {
namespace {

constexpr bool isRegNameChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-': case '.': case '_': case '~': case '!': case '$': case '&': case '\'': case '(':
    case ')': case '*': case '+': case ',': case ';': case '=': case '%':
      return true;
    default:
      return false;
  }
}

// reg-name bytes (RFC 3986 §3.2.2) mapped to their lower case; 0 for every other byte.
constexpr auto kRegNameLower = [] {
  std::array<char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    char ch = static_cast<char>(c);
    if (isRegNameChar(ch)) t[c] = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
  }
  return t;
}();

void splitPathQuery(std::string_view rest, TargetParts& out) {
  size_t hash = rest.find('#');
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);
  size_t q = rest.find('?');
  out.path = rest.substr(0, q);
  out.query = q == std::string_view::npos ? std::string_view() : rest.substr(q);
}

}  // namespace

bool splitTarget(std::string_view target, TargetParts& out) {
  out = TargetParts{};
  if (target.empty()) return false;
  if (target == "*") {
    out.asterisk = true;
    out.path = target;
    return true;
  }
  if (target.front() == '/') {
    splitPathQuery(target, out);
    return true;
  }
  size_t colon = target.find("://");
  if (colon == std::string_view::npos) return false;
  std::string_view scheme = target.substr(0, colon);
  if (!equalsIgnoreCase(scheme, "http") && !equalsIgnoreCase(scheme, "https")) return false;
  out.scheme = scheme;
  std::string_view rest = target.substr(colon + 3);
  size_t slash = rest.find_first_of("/?#");
  out.authority = rest.substr(0, slash);
  if (out.authority.empty() || out.authority.find('@') != std::string_view::npos) return false;
  if (slash == std::string_view::npos) {
    out.path = "/";
    return true;
  }
  rest = rest.substr(slash);
  if (rest.front() != '/') {
    // "http://host?x": the path is empty, which means "/" (RFC 9112 §3.2.2).
    TargetParts tmp;
    splitPathQuery(rest, tmp);
    out.path = "/";
    out.query = tmp.query;
    return true;
  }
  splitPathQuery(rest, out);
  return true;
}

bool splitHost(std::string_view value, std::string& host_out, std::string_view& port_out) {
  host_out.clear();
  port_out = {};
  if (value.empty()) return false;
  std::string_view host = value;
  if (value.front() == '[') {
    size_t close = value.find(']');
    if (close == std::string_view::npos) return false;
    host = value.substr(0, close + 1);
    for (char c : host.substr(1, host.size() - 2)) {
      bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                c == ':' || c == '.';
      if (!ok) return false;
    }
    std::string_view rest = value.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port_out = rest.substr(1);
    }
  } else {
    size_t colon = value.find(':');
    if (colon != std::string_view::npos) {
      host = value.substr(0, colon);
      port_out = value.substr(colon + 1);
    }
    if (host.empty()) return false;
    // Checked and lower-cased in one pass (every request has a Host).
    host_out.resize(host.size());
    for (size_t i = 0; i < host.size(); ++i) {
      char c = kRegNameLower[static_cast<unsigned char>(host[i])];
      if (c == 0) {
        host_out.clear();
        return false;
      }
      host_out[i] = c;
    }
  }
  if (!port_out.empty()) {
    auto port = parseDecimal(port_out);
    if (!port || *port > 65535 || port_out.size() > 5) {
      host_out.clear();
      return false;
    }
  }
  if (host.front() == '[') {
    host_out.assign(host);
    asciiLowerInPlace(host_out);
  }
  return true;
}

}  // namespace detour
