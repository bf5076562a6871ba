#include "admin/admin_server.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <unistd.h>

#include <map>

#include "common/string_util.h"
#include "logging/logging.h"
#include "server/config_snapshot.h"
#include "server/listener.h"

namespace detour {
namespace {

bool isLoopback(const SocketAddress& a) {
  if (a.family() == AF_INET) {
    auto* sin = reinterpret_cast<const sockaddr_in*>(&a.storage);
    return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
  }
  if (a.family() == AF_INET6) {
    auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
  }
  return false;
}

const char* actionName(ActionKind k) {
  switch (k) {
    case ActionKind::kRedirect: return "redirect";
    case ActionKind::kForward: return "forward";
    case ActionKind::kRespond: return "respond";
  }
  return "?";
}

std::string whenText(const WhenConfig& w) {
  switch (w.kind) {
    case WhenConfig::Kind::kFlag: return "flag " + w.name;
    case WhenConfig::Kind::kNotFlag: return "flag !" + w.name;
    case WhenConfig::Kind::kPoolDown: return "pool_down " + w.name;
    case WhenConfig::Kind::kNone: return "";
  }
  return "";
}

// Constant-time comparison for the bearer token.
bool sameSecret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string peerOf(evhttp_request* req) {
  evhttp_connection* conn = evhttp_request_get_connection(req);
  char* host = nullptr;
  ev_uint16_t port = 0;
  evhttp_connection_get_peer(conn, &host, &port);
  return std::string(host ? host : "?") + ":" + std::to_string(port);
}

}  // namespace

AdminServer::~AdminServer() {
  if (http_ != nullptr) evhttp_free(http_);
}

Result<std::unique_ptr<AdminServer>> AdminServer::create(EventLoop& loop,
                                                         const SocketAddress& address,
                                                         std::string token, AdminModel& model) {
  std::unique_ptr<AdminServer> s(new AdminServer(model));
  auto fd = openListeningSocket(address, 128, /*reuse_port=*/false);
  if (!fd) return Status::error("admin: " + fd.status().message());
  s->address_ = boundAddress(*fd);
  s->token_ = std::move(token);
  s->loopback_ = isLoopback(s->address_);
  s->http_ = evhttp_new(loop.base());
  evhttp_set_allowed_methods(s->http_, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                                           EVHTTP_REQ_POST);
  evhttp_set_max_body_size(s->http_, 4096);
  evhttp_set_max_headers_size(s->http_, 16384);
  evhttp_set_timeout(s->http_, 10);
  evhttp_set_gencb(s->http_, &AdminServer::onRequestCb, s.get());
  if (evhttp_accept_socket_with_handle(s->http_, *fd) == nullptr) {
    close(*fd);
    return Status::error("admin: cannot serve on " + address.toString());
  }
  return s;
}

void AdminServer::onRequestCb(evhttp_request* req, void* ctx) {
  static_cast<AdminServer*>(ctx)->onRequest(req);
}

void AdminServer::reply(evhttp_request* req, int code, const std::string& type,
                        const std::string& body) {
  evkeyvalq* h = evhttp_request_get_output_headers(req);
  evhttp_add_header(h, "Content-Type", type.c_str());
  evhttp_add_header(h, "Cache-Control", "no-store");
  evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
  if (type.rfind("text/html", 0) == 0) {
    // The dashboard loads nothing from anywhere but this address.
    evhttp_add_header(h, "Content-Security-Policy",
                      "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                      "img-src data:; connect-src 'self'; frame-ancestors 'none'");
  }
  evbuffer* buf = evbuffer_new();
  evbuffer_add(buf, body.data(), body.size());
  evhttp_send_reply(req, code, nullptr, buf);
  evbuffer_free(buf);
}

void AdminServer::onRequest(evhttp_request* req) {
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* raw_path = uri ? evhttp_uri_get_path(uri) : nullptr;
  std::string path = raw_path ? raw_path : "/";
  evhttp_cmd_type cmd = evhttp_request_get_command(req);
  bool get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
  if (startsWith(path, "/flags/") && (cmd == EVHTTP_REQ_PUT || cmd == EVHTTP_REQ_POST)) {
    return handleFlagPut(req, path.substr(7));
  }
  if (!get) return reply(req, 405, "text/plain; charset=utf-8", "method not allowed\n");
  if (path == "/healthz") return reply(req, 200, "text/plain; charset=utf-8", "ok\n");
  if (path == "/readyz") {
    bool ready = model_.ready();
    return reply(req, ready ? 200 : 503, "text/plain; charset=utf-8", ready ? "ready\n" : "draining\n");
  }
  if (path == "/metrics") {
    return reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", renderMetrics(model_.metrics()));
  }
  if (path == "/rules") return reply(req, 200, "application/json", rulesJson());
  if (path == "/flags") return reply(req, 200, "application/json", flagsJson());
  if (path == "/pools") return reply(req, 200, "application/json", poolsJson());
  if (path == "/") return reply(req, 200, "text/html; charset=utf-8", dashboardHtml());
  reply(req, 404, "text/plain; charset=utf-8", "not found\n");
}

bool AdminServer::writeAllowed(evhttp_request* req) {
  if (token_ == kRefuseAllWrites) {
    reply(req, 403, "text/plain; charset=utf-8",
          "writes are refused: the variable admin.token_env names is not set\n");
    return false;
  }
  if (token_.empty()) {
    if (loopback_) return true;
    reply(req, 403, "text/plain; charset=utf-8",
          "writes are refused: set admin.token_env, or listen on a loopback address\n");
    return false;
  }
  const char* auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
  std::string want = "Bearer " + token_;
  if (auth == nullptr || !sameSecret(auth, want)) {
    evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
    reply(req, 401, "text/plain; charset=utf-8", "a valid 'Authorization: Bearer <token>' is required\n");
    return false;
  }
  return true;
}

void AdminServer::handleFlagPut(evhttp_request* req, const std::string& name) {
  if (!writeAllowed(req)) return;
  evbuffer* in = evhttp_request_get_input_buffer(req);
  std::string body(evbuffer_get_length(in), '\0');
  evbuffer_copyout(in, body.data(), body.size());
  std::string v(trimOws(body));
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  if (v != "true" && v != "false") {
    return reply(req, 400, "text/plain; charset=utf-8", "the body must be true or false\n");
  }
  if (!model_.setFlag(name, v == "true", peerOf(req))) {
    return reply(req, 404, "text/plain; charset=utf-8", "unknown flag '" + name + "'\n");
  }
  reply(req, 200, "application/json", "{" + jsonQuote(name) + ":" + v + "}\n");
}

std::string AdminServer::rulesJson() const {
  auto snap = model_.currentSnapshot();
  MetricsInput m = model_.metrics();
  std::map<std::string, std::pair<uint64_t, uint64_t>> hits;  // name -> hits, bodies at risk
  for (const WorkerStats* w : m.workers) {
    w->forEachRule([&](const std::string& name, const RuleStats& st) {
      hits[name].first += st.hits.load(std::memory_order_relaxed);
      hits[name].second += st.bodies_at_risk.load(std::memory_order_relaxed);
    });
  }
  int64_t now = nowMillis();
  std::string out = "[";
  const RuleTable& t = *snap->table;
  for (size_t i = 0; i < t.size(); ++i) {
    const CompiledRule& r = t.rule(i);
    const RuleConfig& rc = r.config();
    if (i) out += ",";
    out += "{\"index\":" + std::to_string(i) + ",\"name\":" + jsonQuote(r.name());
    out += ",\"line\":" + std::to_string(rc.pos.line);
    out += ",\"action\":\"" + std::string(actionName(r.kind())) + "\"";
    if (const auto* rd = r.redirect()) {
      out += ",\"code\":" + std::to_string(rd->code) + ",\"to\":" + jsonQuote(rd->to.text());
    } else if (const auto* fw = r.forward()) {
      out += ",\"pool\":" + jsonQuote(fw->pool);
    } else if (const auto* rs = r.respond()) {
      out += ",\"status\":" + std::to_string(rs->status);
    }
    std::string when = whenText(rc.when);
    if (!when.empty()) out += ",\"when\":" + jsonQuote(when);
    if (rc.active.from || rc.active.until) {
      bool active = (!rc.active.from || now >= *rc.active.from) &&
                    (!rc.active.until || now < *rc.active.until);
      out += std::string(",\"active\":") + (active ? "true" : "false");
    }
    auto it = hits.find(r.name());
    out += ",\"hits\":" + std::to_string(it == hits.end() ? 0 : it->second.first);
    out += ",\"bodies_at_risk\":" + std::to_string(it == hits.end() ? 0 : it->second.second);
    out += "}";
  }
  out += "]\n";
  return out;
}

std::string AdminServer::flagsJson() const {
  std::string out = "{";
  bool first = true;
  for (const auto& [name, value] : model_.flagValues()) {
    if (!first) out += ",";
    first = false;
    out += jsonQuote(name) + ":" + (value ? "true" : "false");
  }
  out += "}\n";
  return out;
}

std::string AdminServer::poolsJson() const {
  auto snap = model_.currentSnapshot();
  auto backends = model_.backendStatus();
  MetricsInput m = model_.metrics();
  std::string out = "{";
  bool first_pool = true;
  for (const auto& pool : snap->config().pools) {
    if (!first_pool) out += ",";
    first_pool = false;
    bool down = false;
    for (const auto& [name, d] : m.pools) down = down || (name == pool.name && d);
    out += jsonQuote(pool.name) + ":{\"down\":" + (down ? "true" : "false");
    out += ",\"balance\":\"" + std::string(pool.balance == Balance::kLeastConn ? "least_conn" : "round_robin") + "\"";
    out += ",\"active_checks\":" + std::string(pool.health ? "true" : "false");
    out += ",\"backends\":[";
    bool first = true;
    for (const auto& b : backends) {
      if (b.pool != pool.name) continue;
      if (!first) out += ",";
      first = false;
      out += "{\"backend\":" + jsonQuote(b.backend) + ",\"address\":" + jsonQuote(b.address);
      out += ",\"state\":\"" + std::string(b.up ? "up" : "down") + "\"";
      out += ",\"consecutive_failures\":" + std::to_string(b.consecutive_failures);
      out += ",\"last_error\":" + (b.last_error.empty() ? std::string("null") : jsonQuote(b.last_error));
      out += ",\"last_change_ms\":" + std::to_string(b.last_change_ms) + "}";
    }
    out += "]}";
  }
  out += "}\n";
  return out;
}

}  // namespace detour
