// Readers for the `server:`, `admin:` and `log:` sections.

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>

#include "common/string_util.h"
#include "config/config_sections.h"
#include "config/config_syntax.h"

namespace detour {

namespace {

constexpr int64_t kMaxWorkers = 256;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

std::string addressProblem(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    if (SocketAddress::parse(std::string(text) + ":0")) {
      return "add a port, as in " + std::string(text) + ":8080";
    }
  } else if (colon == 0) {
    return "add the IP address, as in 0.0.0.0" + std::string(text);
  } else if (SocketAddress::parse(std::string(text.substr(0, colon)) + ":0")) {
    return "the port must be a number from 0 to 65535";
  }
  return "use an IP literal and a port, like 127.0.0.1:8080 or [::1]:8080 (host names are not "
         "allowed)";
}

// Empty when `path` names a readable regular file; otherwise the reason.
std::string unreadableReason(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::strerror(errno);
  if (S_ISDIR(st.st_mode)) return "it is a directory";
  if (::access(path.c_str(), R_OK) != 0) return std::strerror(errno);
  return "";
}

std::optional<std::string> readTlsFile(ConfigReporter& r, const ConfigValue& value,
                                       const char* what) {
  auto written = readString(r, value);
  if (!written) return std::nullopt;
  if (written->empty()) {
    r.error(value.pos, value.label + " must not be empty: give the path of the " + what);
    return std::nullopt;
  }
  std::string path = resolvePath(r.baseDir(), *written);
  std::string reason = unreadableReason(path);
  if (!reason.empty()) {
    std::string message =
        "cannot read " + std::string(what) + " " + quoteText(*written) + ": " + reason;
    if (written->front() != '/') {
      message += " (relative paths are resolved against the config file's folder)";
    }
    r.error(value.pos, std::move(message));
  }
  return path;
}

std::optional<TlsConfig> readTls(ConfigReporter& r, const ConfigValue& value) {
  ConfigMap map(r, value, "tls", {"cert", "key"}, {{"certificate", "cert"}, {"crt", "cert"}});
  if (!map.isMap()) return std::nullopt;
  TlsConfig tls;
  tls.pos = map.pos();
  auto cert = map.require("cert");
  auto key = map.require("key");
  if (cert) tls.cert = readTlsFile(r, *cert, "TLS certificate").value_or("");
  if (key) tls.key = readTlsFile(r, *key, "TLS key").value_or("");
  return tls;
}

std::optional<ListenerConfig> readListener(ConfigReporter& r, const ConfigValue& item) {
  if (!item.node.IsMap()) return readListenAddress(r, item, "listen address");
  ConfigMap map(r, item, "listener", {"address", "tls"}, {{"listen", "address"}});
  auto address = map.require("address");
  if (!address) return std::nullopt;
  auto listener = readListenAddress(r, *address, "listen address");
  auto tls = map.get("tls");
  if (listener && tls) listener->tls = readTls(r, *tls);
  return listener;
}

void readListeners(ConfigReporter& r, const ConfigValue& value, std::vector<ListenerConfig>& out) {
  auto items = readList(r, value, /*non_empty=*/true);
  if (!items) return;
  for (const auto& item : *items) {
    auto listener = readListener(r, item);
    if (!listener) continue;
    for (const auto& other : out) {
      if (other.address.toString() == listener->address.toString() &&
          listener->address.port() != 0) {
        r.error(listener->pos, "duplicate listen address " + quoteText(listener->text) +
                                   " (first at line " + std::to_string(other.pos.line) + ")");
      }
    }
    out.push_back(std::move(*listener));
  }
}

void readWorkers(ConfigReporter& r, const ConfigValue& value, int& out) {
  const YAML::Node& node = value.node;
  if (node.IsScalar() && node.Tag() != "!") {
    if (node.Scalar() == "auto") {
      out = 0;
      return;
    }
    auto n = parseDecimal(node.Scalar());
    if (n && *n >= 1 && *n <= static_cast<uint64_t>(kMaxWorkers)) {
      out = static_cast<int>(*n);
      return;
    }
  }
  r.error(value.pos, "'workers' must be 'auto' or an integer from 1 to " +
                         std::to_string(kMaxWorkers) + " (got " + describePlain(node) + ")");
}

void readTrustedProxies(ConfigReporter& r, const ConfigValue& value, std::vector<Cidr>& out) {
  auto items = readList(r, value, /*non_empty=*/false);
  if (!items) return;
  for (const auto& item : *items) {
    auto text = readString(r, item);
    if (!text) continue;
    std::string why;
    auto cidr = Cidr::parse(*text, &why);
    if (!cidr) {
      r.error(item.pos, "bad CIDR " + quoteText(*text) + " in trusted_proxies: " + why +
                            " (write networks like 10.0.0.0/8 or ::1/128)");
      continue;
    }
    out.push_back(*cidr);
  }
}

void readLimits(ConfigReporter& r, const ConfigValue& value, LimitsConfig& out) {
  ConfigMap map(r, value, "server.limits", {"max_header_bytes", "max_body_bytes"});
  if (auto v = map.get("max_header_bytes")) {
    if (auto n = readInt(r, *v, 1024, 1048576)) out.max_header_bytes = static_cast<uint64_t>(*n);
  }
  if (auto v = map.get("max_body_bytes")) {
    if (auto n = readInt(r, *v, 0, kInt64Max)) out.max_body_bytes = static_cast<uint64_t>(*n);
  }
}

void readTimeouts(ConfigReporter& r, const ConfigValue& value, TimeoutsConfig& out) {
  static const std::pair<std::string_view, Duration TimeoutsConfig::*> kFields[] = {
      {"header", &TimeoutsConfig::header},
      {"idle", &TimeoutsConfig::idle},
      {"upstream_connect", &TimeoutsConfig::upstream_connect},
      {"upstream_response", &TimeoutsConfig::upstream_response},
      {"drain", &TimeoutsConfig::drain},
  };
  std::vector<std::string_view> keys;
  for (const auto& field : kFields) keys.push_back(field.first);
  ConfigMap map(r, value, "server.timeouts", keys,
                {{"connect", "upstream_connect"},
                 {"response", "upstream_response"},
                 {"keepalive", "idle"},
                 {"read", "header"}});
  for (const auto& [key, member] : kFields) {
    auto v = map.get(key);
    if (!v) continue;
    if (auto d = readDuration(r, *v)) out.*member = *d;
  }
}

void readHsts(ConfigReporter& r, const ConfigValue& value, std::optional<HstsConfig>& out) {
  ConfigMap map(r, value, "server.hsts", {"max_age", "include_subdomains", "preload"});
  if (!map.isMap()) return;
  HstsConfig hsts;
  if (auto v = map.get("max_age")) {
    if (auto n = readInt(r, *v, 0, kInt64Max)) hsts.max_age = static_cast<uint64_t>(*n);
  }
  if (auto v = map.get("include_subdomains"))
    hsts.include_subdomains = readBool(r, *v).value_or(false);
  if (auto v = map.get("preload")) hsts.preload = readBool(r, *v).value_or(false);
  out = hsts;
}

void readAccessLog(ConfigReporter& r, const ConfigValue& value, LogConfig& out) {
  const YAML::Node& node = value.node;
  bool enabled = true;
  if (node.IsScalar() && node.Tag() != "!" && YAML::convert<bool>::decode(node, enabled)) {
    out.access_enabled = enabled;
    return;
  }
  if (!node.IsMap()) {
    r.error(value.pos, "'access' must be off or a map like { path: stdout, format: json }, got " +
                           describeNode(node));
    return;
  }
  ConfigMap map(r, value, "log.access", {"path", "format"}, {{"file", "path"}});
  if (auto v = map.get("path")) {
    auto path = readString(r, *v);
    if (path && path->empty()) {
      r.error(v->pos, "'path' must not be empty: use stdout, stderr or a file path");
    }
    if (path && !path->empty()) {
      bool stream = *path == "stdout" || *path == "stderr";
      out.access_path = stream ? *path : resolvePath(r.baseDir(), *path);
    }
  }
  if (auto v = map.get("format")) {
    auto format = readEnum(r, *v, {"json", "combined"});
    if (format)
      out.access_format = *format == "json" ? AccessLogFormat::kJson : AccessLogFormat::kCombined;
  }
}

}  // namespace

std::string resolvePath(const std::string& base_dir, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_absolute()) return p.lexically_normal().string();
  std::error_code ec;
  std::filesystem::path base = std::filesystem::absolute(base_dir.empty() ? "." : base_dir, ec);
  if (ec) base = base_dir;
  return (base / p).lexically_normal().string();
}

std::optional<ListenerConfig> readListenAddress(ConfigReporter& r, const ConfigValue& value,
                                                const std::string& what) {
  auto text = readString(r, value);
  if (!text) return std::nullopt;
  auto address = SocketAddress::parse(*text);
  if (!address) {
    r.error(value.pos, "bad " + what + " " + quoteText(*text) + ": " + addressProblem(*text));
    return std::nullopt;
  }
  ListenerConfig listener;
  listener.text = *text;
  listener.address = *address;
  listener.pos = value.pos;
  return listener;
}

void readServerHosts(ConfigReporter& r, const ConfigValue& value, ServerConfig& out) {
  std::vector<ConfigValue> items;
  if (value.node.IsSequence()) {
    auto list = readList(r, value, /*non_empty=*/true);
    if (!list) return;
    items = std::move(*list);
  } else {
    items.push_back(value);
  }
  out.hosts_pos = value.pos;
  for (const auto& item : items) {
    auto host = readString(r, item);
    if (!host) continue;
    std::string lower = asciiLowerCopy(*host);
    std::string why = hostPatternProblem(lower);
    if (!why.empty()) {
      r.error(item.pos, "host " + quoteText(*host) + " in server.hosts is not valid: " + why);
      continue;
    }
    out.hosts.push_back(std::move(lower));
  }
}

void readServer(ConfigReporter& r, const ConfigValue& value, ServerConfig& out) {
  ConfigMap map(r, value, "server",
                {"listen", "hosts", "workers", "trusted_proxies", "limits", "timeouts", "hsts"},
                {{"listeners", "listen"}, {"threads", "workers"}, {"timeout", "timeouts"},
                 {"server_names", "hosts"}, {"server_name", "hosts"}});
  if (!map.isMap()) {
    r.incomplete().hosts = true;
    return;
  }
  if (auto v = map.require("listen")) readListeners(r, *v, out.listen);
  size_t errors_before = r.errorCount();
  if (auto v = map.get("hosts")) readServerHosts(r, *v, out);
  if (r.errorCount() != errors_before || map.suggested("hosts")) r.incomplete().hosts = true;
  if (auto v = map.get("workers")) readWorkers(r, *v, out.workers);
  if (auto v = map.get("trusted_proxies")) readTrustedProxies(r, *v, out.trusted_proxies);
  if (auto v = map.get("limits")) readLimits(r, *v, out.limits);
  if (auto v = map.get("timeouts")) readTimeouts(r, *v, out.timeouts);
  if (auto v = map.get("hsts")) readHsts(r, *v, out.hsts);
}

void readAdmin(ConfigReporter& r, const ConfigValue& value, AdminConfig& out) {
  ConfigMap map(r, value, "admin", {"listen", "token_env"}, {{"token", "token_env"}});
  if (auto v = map.get("listen")) out.listen = readListenAddress(r, *v, "admin listen address");
  if (auto v = map.get("token_env")) {
    auto name = readString(r, *v);
    if (name && !isEnvVarName(*name)) {
      r.error(v->pos,
              "'token_env' must be the name of an environment variable, like "
              "DETOUR_ADMIN_TOKEN (got " +
                  quoteText(*name) + ")");
    } else if (name) {
      out.token_env = *name;
    }
  }
}

void readLog(ConfigReporter& r, const ConfigValue& value, LogConfig& out) {
  ConfigMap map(r, value, "log", {"level", "access"}, {{"access_log", "access"}});
  if (auto v = map.get("level")) {
    if (auto level = readEnum(r, *v, {"trace", "debug", "info", "warn", "error"})) {
      out.level = *level;
    }
  }
  if (auto v = map.get("access")) readAccessLog(r, *v, out);
}

}  // namespace detour
