#include "http/forwarding_headers.h"

#include <cstring>

#include "common/string_util.h"
#include "http/codes.h"

namespace detour {
namespace {

// One capacity check and four copies (the head's string is reserved up front).
void appendLine(std::string& out, std::string_view name, std::string_view value) {
  size_t at = out.size();
  out.resize(at + name.size() + value.size() + 4);
  char* p = out.data() + at;
  memcpy(p, name.data(), name.size());
  p += name.size();
  p[0] = ':';
  p[1] = ' ';
  p += 2;
  memcpy(p, value.data(), value.size());
  p += value.size();
  p[0] = '\r';
  p[1] = '\n';
}

// Whether the head has a Connection field at all: most fields then need no look at its list.
bool hasConnectionField(const MessageHead& m) {
  for (const auto& h : m.headers) {
    if (equalsIgnoreCase(h.name, "connection")) return true;
  }
  return false;
}

bool setByConfig(std::string_view name, const UpstreamRequestContext& ctx) {
  if (ctx.set_headers == nullptr) return false;
  for (const auto& [n, v] : *ctx.set_headers) {
    if (equalsIgnoreCase(n, name)) return true;
  }
  return false;
}

bool isForwardedField(std::string_view name) {
  return equalsIgnoreCase(name, "x-forwarded-for") || equalsIgnoreCase(name, "x-forwarded-proto") ||
         equalsIgnoreCase(name, "x-forwarded-host");
}

// An underscore spelling of a forwarding field (X_Forwarded_For): CGI-style backends read it as
// the real one (HTTP_X_FORWARDED_FOR), so a client could forge its address past the check
// above. Dropped from every peer: the proxies detour trusts use the real names.
bool isUnderscoredForwardedField(std::string_view name) {
  if (name.find('_') == std::string_view::npos) return false;
  for (std::string_view real : {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"}) {
    if (name.size() != real.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i) {
      char c = name[i] == '_' ? '-' : name[i];
      same = (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) == real[i];
    }
    if (same) return true;
  }
  return false;
}

// Named in Connection, but never dropped for it: removing the framing or Host while the
// message still carries a body would desynchronise the next hop.
bool isEndToEndEssential(std::string_view name) {
  return equalsIgnoreCase(name, "content-length") || equalsIgnoreCase(name, "transfer-encoding") ||
         equalsIgnoreCase(name, "host");
}

}  // namespace

bool isHopByHop(std::string_view name) {
  return equalsIgnoreCase(name, "connection") || equalsIgnoreCase(name, "keep-alive") ||
         equalsIgnoreCase(name, "proxy-connection") || equalsIgnoreCase(name, "te") ||
         equalsIgnoreCase(name, "upgrade");
}

bool asksWebSocketUpgrade(const MessageHead& req) {
  if (!req.upgrade) return false;
  bool websocket = false;
  for (const auto& h : req.headers) {
    if (!equalsIgnoreCase(h.name, "upgrade")) continue;
    std::string_view v = h.value;
    while (true) {
      size_t comma = v.find(',');
      std::string_view token = trimOws(v.substr(0, comma));
      if (!token.empty()) {
        if (!equalsIgnoreCase(token, "websocket")) return false;
        websocket = true;
      }
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return websocket;
}

void appendUpstreamRequestHead(std::string& out, const MessageHead& req,
                               const UpstreamRequestContext& ctx) {
  out.append(req.method);
  out.push_back(' ');
  out.append(ctx.target);
  out.append(" HTTP/1.1\r\n");
  std::string xff;
  std::string_view xfp, xfh;
  bool has_host = false;
  bool has_request_id = false;
  const bool connection_field = hasConnectionField(req);
  for (const auto& h : req.headers) {
    if (isHopByHop(h.name) ||
        (connection_field && req.connectionHas(h.name) && !isEndToEndEssential(h.name))) {
      continue;
    }
    if (setByConfig(h.name, ctx)) continue;
    // detour generated the request id (none, or an empty one, came): the client's field goes.
    if (!ctx.request_id.empty() && equalsIgnoreCase(h.name, "x-request-id")) continue;
    if (isUnderscoredForwardedField(h.name)) continue;
    if (isForwardedField(h.name)) {
      if (!ctx.peer_trusted) continue;  // forged by the client: dropped
      if (equalsIgnoreCase(h.name, "x-forwarded-for")) {
        if (!xff.empty()) xff.append(", ");
        xff.append(h.value);
      } else if (equalsIgnoreCase(h.name, "x-forwarded-proto")) {
        xfp = h.value;
      } else {
        xfh = h.value;
      }
      continue;
    }
    has_host = has_host || equalsIgnoreCase(h.name, "host");
    has_request_id = has_request_id || equalsIgnoreCase(h.name, "x-request-id");
    appendLine(out, h.name, h.value);
  }
  // A field that set_headers names replaces detour's own line: it is sent once, as configured.
  if (!has_host && !setByConfig("host", ctx)) appendLine(out, "Host", ctx.host);
  if (!setByConfig("x-forwarded-for", ctx)) {
    if (!xff.empty()) xff.append(", ");
    xff.append(ctx.client_ip);
    appendLine(out, "X-Forwarded-For", xff);
  }
  if (!setByConfig("x-forwarded-proto", ctx))
    appendLine(out, "X-Forwarded-Proto", xfp.empty() ? ctx.scheme : xfp);
  if (!setByConfig("x-forwarded-host", ctx)) {
    std::string_view host = req.host.empty() ? ctx.host : req.host;
    appendLine(out, "X-Forwarded-Host", xfh.empty() ? host : xfh);
  }
  if (!has_request_id && !ctx.request_id.empty() && !setByConfig("x-request-id", ctx))
    appendLine(out, "X-Request-Id", ctx.request_id);
  if (ctx.set_headers != nullptr) {
    for (const auto& [n, v] : *ctx.set_headers) appendLine(out, n, v);
  }
  if (ctx.upgrade) {
    std::string_view up = req.find("upgrade");
    appendLine(out, "Connection", "upgrade");
    appendLine(out, "Upgrade", up);
  }
  out.append("\r\n");
}

void appendDownstreamResponseHead(std::string& out, const MessageHead& resp,
                                  const DownstreamResponseOptions& opts) {
  out.append("HTTP/1.1 ");
  if (resp.status >= 100 && resp.status <= 999) {
    char code[3] = {static_cast<char>('0' + resp.status / 100),
                    static_cast<char>('0' + resp.status / 10 % 10),
                    static_cast<char>('0' + resp.status % 10)};
    out.append(code, 3);
  } else {
    out.append(std::to_string(resp.status));
  }
  out.push_back(' ');
  if (resp.reason.empty()) {
    out.append(statusReason(resp.status));
  } else {
    out.append(resp.reason);
  }
  out.append("\r\n");
  const bool connection_field = hasConnectionField(resp);
  for (const auto& h : resp.headers) {
    if (opts.upgrade && equalsIgnoreCase(h.name, "upgrade")) {
      appendLine(out, h.name, h.value);
      continue;
    }
    if (isHopByHop(h.name) ||
        (connection_field && resp.connectionHas(h.name) && !isEndToEndEssential(h.name))) {
      continue;
    }
    if (opts.drop_chunked && equalsIgnoreCase(h.name, "transfer-encoding")) continue;
    if (opts.drop_framing && (equalsIgnoreCase(h.name, "content-length") ||
                              equalsIgnoreCase(h.name, "transfer-encoding"))) {
      continue;
    }
    appendLine(out, h.name, h.value);
  }
  out.append(opts.extra_lines);
  if (opts.upgrade) {
    out.append("Connection: upgrade\r\n");
  } else if (opts.close) {
    out.append("Connection: close\r\n");
  } else if (opts.keep_alive_10) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
}

}  // namespace detour
