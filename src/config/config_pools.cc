// Readers for the `flags:` and `pools:` sections.

#include <cstdlib>
#include <limits>

#include "common/string_util.h"
#include "config/config_sections.h"
#include "config/config_syntax.h"

namespace detour {

namespace {

constexpr int64_t kIntMax = std::numeric_limits<int>::max();

// "1500ms", "2s", "2m", "1h": the largest unit that divides the duration exactly.
std::string formatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// A map entry's name ("orders" in `pools: { orders: ... }`), checked; `kind` is "flag"/"pool".
std::string readEntryName(ConfigReporter& r, const ConfigValue& entry, const char* kind) {
  if (!isConfigName(entry.key)) {
    r.error(entry.key_pos, std::string(kind) + " name " + quoteText(entry.key) +
                               " may only contain letters, digits, '_', '.' and '-'");
  }
  return entry.key;
}

// A warning when the environment variable `name` is set to something other than true/false.
void checkFlagEnv(ConfigReporter& r, const ConfigValue& value, const std::string& name) {
  const char* set = std::getenv(name.c_str());
  if (set == nullptr) return;
  std::string_view text(set);
  if (equalsIgnoreCase(text, "true") || equalsIgnoreCase(text, "false")) return;
  r.warning(value.pos, "environment variable " + name + " is " + quoteText(text) +
                           "; only true/false override the default");
}

void readFlagEnv(ConfigReporter& r, const ConfigValue& value, FlagConfig& flag) {
  auto env = readString(r, value);
  if (!env) return;
  if (!isEnvVarName(*env)) {
    r.error(value.pos,
            "'env' must be the name of an environment variable, like "
            "PAYMENTS_MAINTENANCE (got " +
                quoteText(*env) + ")");
    return;
  }
  flag.env = *env;
  checkFlagEnv(r, value, *env);
}

FlagConfig readFlag(ConfigReporter& r, const ConfigValue& entry) {
  FlagConfig flag;
  flag.name = readEntryName(r, entry, "flag");
  flag.pos = entry.key_pos;
  ConfigValue value = entry;
  value.label = "flag " + quoteText(flag.name);
  bool as_bool = false;
  if (value.node.IsScalar() && YAML::convert<bool>::decode(value.node, as_bool)) {
    r.error(value.pos, value.label + " must be a map, got " + describeNode(value.node) +
                           ": write { default: " + (as_bool ? "true" : "false") + " }");
    return flag;
  }
  ConfigMap map(r, value, value.label, {"default", "env"}, {{"value", "default"}});
  if (auto v = map.get("default")) flag.default_value = readBool(r, *v).value_or(false);
  if (auto v = map.get("env")) readFlagEnv(r, *v, flag);
  return flag;
}

void readBackends(ConfigReporter& r, const ConfigValue& value, PoolConfig& pool) {
  auto items = readList(r, value, /*non_empty=*/true);
  if (!items) return;
  for (const auto& item : *items) {
    auto text = readString(r, item);
    if (!text) continue;
    auto address = HostPort::parse(*text);
    if (!address) {
      r.error(item.pos, "bad backend " + quoteText(*text) + " in pool " + quoteText(pool.name) +
                            ": write host:port, like 127.0.0.1:9001 or app.internal:8080");
      continue;
    }
    asciiLowerInPlace(address->host);
    for (const auto& other : pool.backends) {
      if (other.address.host == address->host && other.address.port == address->port) {
        r.error(item.pos, "duplicate backend " + quoteText(*text) + " in pool " +
                              quoteText(pool.name) + " (first at line " +
                              std::to_string(other.pos.line) + ")");
      }
    }
    pool.backends.push_back({*address, *text, item.pos});
  }
}

void warnSlowProbe(ConfigReporter& r, const ConfigMap& map, const HealthCheckConfig& health) {
  if (health.timeout < health.interval) return;
  auto at = map.get("timeout");
  if (!at) at = map.get("interval");
  r.warning(at ? at->pos : map.pos(), "health check 'timeout' (" + formatDuration(health.timeout) +
                                          ") should be shorter than 'interval' (" +
                                          formatDuration(health.interval) +
                                          "): a probe could still run when the next one starts");
}

std::optional<HealthCheckConfig> readHealth(ConfigReporter& r, const ConfigValue& value) {
  ConfigMap map(r, value, "health", {"path", "interval", "timeout", "fall", "rise"},
                {{"uri", "path"}, {"url", "path"}, {"every", "interval"}});
  if (!map.isMap()) return std::nullopt;
  HealthCheckConfig health;
  if (auto v = map.get("path")) {
    auto path = readString(r, *v);
    std::string problem = path ? pathProblem(v->label, *path) : "";
    if (!problem.empty()) r.error(v->pos, std::move(problem));
    if (path && problem.empty()) health.path = *path;
  }
  if (auto v = map.get("interval")) health.interval = readDuration(r, *v).value_or(health.interval);
  if (auto v = map.get("timeout")) health.timeout = readDuration(r, *v).value_or(health.timeout);
  if (auto v = map.get("fall"))
    health.fall = static_cast<int>(readInt(r, *v, 1, kIntMax).value_or(3));
  if (auto v = map.get("rise"))
    health.rise = static_cast<int>(readInt(r, *v, 1, kIntMax).value_or(2));
  warnSlowProbe(r, map, health);
  return health;
}

PoolConfig readPool(ConfigReporter& r, const ConfigValue& entry) {
  PoolConfig pool;
  pool.name = readEntryName(r, entry, "pool");
  pool.pos = entry.key_pos;
  ConfigValue value = entry;
  value.label = "pool " + quoteText(pool.name);
  ConfigMap map(r, value, value.label, {"backends", "balance", "keepalive", "health"},
                {{"servers", "backends"},
                 {"upstreams", "backends"},
                 {"lb", "balance"},
                 {"health_check", "health"}});
  if (auto v = map.require("backends")) readBackends(r, *v, pool);
  if (auto v = map.get("balance")) {
    auto balance = readEnum(r, *v, {"round_robin", "least_conn"});
    if (balance)
      pool.balance = *balance == "round_robin" ? Balance::kRoundRobin : Balance::kLeastConn;
  }
  if (auto v = map.get("keepalive")) {
    pool.keepalive = static_cast<int>(readInt(r, *v, 0, kIntMax).value_or(pool.keepalive));
  }
  if (auto v = map.get("health")) pool.health = readHealth(r, *v);
  return pool;
}

}  // namespace

void readFlags(ConfigReporter& r, const ConfigValue& value, std::vector<FlagConfig>& out) {
  if (value.node.IsNull()) return;  // `flags:` with every flag commented out
  ConfigMap map(r, value, "flags", {});
  for (const auto& entry : map.entries()) out.push_back(readFlag(r, entry));
}

void readPools(ConfigReporter& r, const ConfigValue& value, std::vector<PoolConfig>& out) {
  if (value.node.IsNull()) return;  // `pools:` with every pool commented out
  ConfigMap map(r, value, "pools", {});
  for (const auto& entry : map.entries()) out.push_back(readPool(r, entry));
}

}  // namespace detour
