#pragma once

// The typed model of a detour config file (contract §3). Plain values, filled by ConfigLoader
// and read by the rule compiler and the server. Every struct remembers where it was written
// (Pos) so that later checks can report FILE:LINE:COL.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/net_address.h"

namespace detour {

// A position in the config file; 1-based. line == 0 means unknown.
struct Pos {
  int line = 0;
  int col = 0;
};

using Duration = std::chrono::milliseconds;

struct TlsConfig {
  std::string cert;  // absolute path (relative paths are resolved against the config's folder)
  std::string key;
  Pos pos;
};

struct ListenerConfig {
  std::string text;         // as written: "0.0.0.0:8080"
  SocketAddress address;    // parsed literal address
  std::optional<TlsConfig> tls;
  Pos pos;
};

struct LimitsConfig {
  uint64_t max_header_bytes = 16384;  // request line + headers; over: 431 (414 for the URI alone)
  uint64_t max_body_bytes = 0;        // 0 = unlimited; over: 413
};

struct TimeoutsConfig {
  Duration header{10'000};
  Duration idle{75'000};
  Duration upstream_connect{3'000};
  Duration upstream_response{30'000};
  Duration drain{30'000};
};

struct HstsConfig {
  uint64_t max_age = 31536000;
  bool include_subdomains = false;
  bool preload = false;
};

struct ServerConfig {
  std::vector<ListenerConfig> listen;
  // The host names this server answers for ("shop.example.com", "*.example.com"), lower-cased.
  // When set, a redirect rule without a host condition fills {host} only from a Host in this
  // list (others get 421), so a forged Host cannot steer a redirect elsewhere.
  std::vector<std::string> hosts;
  Pos hosts_pos;
  int workers = 0;  // 0 = auto (number of cores)
  std::vector<Cidr> trusted_proxies;
  LimitsConfig limits;
  TimeoutsConfig timeouts;
  std::optional<HstsConfig> hsts;
};

struct AdminConfig {
  std::optional<ListenerConfig> listen;  // absent: no admin listener
  std::string token_env;                 // empty: none
};

enum class AccessLogFormat { kJson, kCombined };

struct LogConfig {
  std::string level = "info";  // trace|debug|info|warn|error
  bool access_enabled = true;
  std::string access_path = "stdout";  // "stdout", "stderr" or an absolute file path
  AccessLogFormat access_format = AccessLogFormat::kJson;
};

struct FlagConfig {
  std::string name;
  bool default_value = false;
  std::string env;  // empty: no env override
  Pos pos;
};

struct HealthCheckConfig {
  std::string path = "/healthz";
  Duration interval{2'000};
  Duration timeout{1'000};
  int fall = 3;
  int rise = 2;
};

enum class Balance { kRoundRobin, kLeastConn };

struct BackendConfig {
  HostPort address;
  std::string text;  // as written
  Pos pos;
};

struct PoolConfig {
  std::string name;
  std::vector<BackendConfig> backends;
  Balance balance = Balance::kRoundRobin;
  int keepalive = 32;
  std::optional<HealthCheckConfig> health;
  Pos pos;
};

// One `headers:` condition of a match block.
struct HeaderMatchConfig {
  std::string name;          // as written; compared case-insensitively
  std::string value;         // exact value, when !is_regex
  std::string regex;         // RE2 pattern (anchored at both ends), when is_regex
  bool is_regex = false;
  Pos pos;
};

enum class Scheme { kHttp, kHttps };

struct MatchConfig {
  std::vector<std::string> hosts;  // lower-cased; "*.example.com" for wildcards
  std::optional<Scheme> scheme;
  std::optional<std::string> path;
  std::optional<std::string> path_prefix;
  std::optional<std::string> path_regex;
  std::vector<std::string> methods;  // upper-case tokens
  std::vector<HeaderMatchConfig> headers;
  Pos pos;
};

struct WhenConfig {
  enum class Kind { kNone, kFlag, kNotFlag, kPoolDown };
  Kind kind = Kind::kNone;
  std::string name;  // flag or pool name (without the leading '!')
  Pos pos;
};

// Unix time in milliseconds.
using EpochMillis = int64_t;

struct ActiveWindow {
  std::optional<EpochMillis> from;
  std::optional<EpochMillis> until;
  Pos from_pos;
  Pos until_pos;
};

struct RedirectAction {
  std::string to;  // template
  int code = 307;
  bool keep_query = true;
  std::optional<uint32_t> retry_after;       // seconds
  std::optional<std::string> cache_control;  // absent: default by code; "" = send none
  Pos to_pos;
  Pos code_pos;
};

struct ForwardAction {
  std::string pool;
  std::optional<std::string> strip_prefix;
  std::vector<std::pair<std::string, std::string>> set_headers;  // in file order
  Pos pool_pos;
};

struct RespondAction {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // in file order
  Pos status_pos;
};

using RuleAction = std::variant<RedirectAction, ForwardAction, RespondAction>;

struct RuleConfig {
  std::string name;
  std::optional<MatchConfig> match;  // absent: matches everything
  WhenConfig when;
  ActiveWindow active;
  RuleAction action;
  Pos pos;         // the rule's list item
  Pos action_pos;  // the action key (redirect:/forward:/respond:)
};

struct Config {
  std::string file;  // the path it was loaded from, as given
  int version = 1;
  ServerConfig server;
  AdminConfig admin;
  LogConfig log;
  std::vector<FlagConfig> flags;
  std::vector<PoolConfig> pools;
  std::vector<RuleConfig> rules;

  const PoolConfig* findPool(const std::string& name) const;
  const FlagConfig* findFlag(const std::string& name) const;
};

}  // namespace detour
