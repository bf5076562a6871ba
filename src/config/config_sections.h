#pragma once

// The section readers of the config loader, one small function per part of the file. Internal
// to src/config: config_loader.cc calls them in dependency order (flags and pools before rules,
// which refer to them). Each reads `value` into its output and reports every problem through
// `r`; outputs are filled as far as the input allows, so later checks still run. Single-threaded.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/config_node.h"

namespace detour {

// config_server.cc

// `server:`; `listen` is required.
void readServer(ConfigReporter& r, const ConfigValue& value, ServerConfig& out);
// `admin:`; both keys optional.
void readAdmin(ConfigReporter& r, const ConfigValue& value, AdminConfig& out);
// `log:`.
void readLog(ConfigReporter& r, const ConfigValue& value, LogConfig& out);
// A literal "IP:port" listen address; `what` names it in messages ("listen address").
std::optional<ListenerConfig> readListenAddress(ConfigReporter& r, const ConfigValue& value,
                                                const std::string& what);
// `path` made absolute against `base_dir` unless it already is; normalized.
std::string resolvePath(const std::string& base_dir, const std::string& path);

// config_pools.cc

// `flags:` (a map of name -> { default, env }). Warns about env values other than true/false.
void readFlags(ConfigReporter& r, const ConfigValue& value, std::vector<FlagConfig>& out);
// `pools:` (a map of name -> { backends, balance, keepalive, health }).
void readPools(ConfigReporter& r, const ConfigValue& value, std::vector<PoolConfig>& out);

// config_rules.cc

// `rules:`; `config.flags` and `config.pools` must already be read (for unknown-name checks).
void readRules(ConfigReporter& r, const ConfigValue& value, Config& config);

// config_match.cc

// A rule's `match:`.
std::optional<MatchConfig> readMatch(ConfigReporter& r, const ConfigValue& value);

// config_actions.cc

// A rule's `redirect:`, `forward:` or `respond:`. readForward checks the pool against `config`.
std::optional<RedirectAction> readRedirect(ConfigReporter& r, const ConfigValue& value);
std::optional<ForwardAction> readForward(ConfigReporter& r, const ConfigValue& value,
                                         const Config& config);
std::optional<RespondAction> readRespond(ConfigReporter& r, const ConfigValue& value);
// "unknown pool 'x'; did you mean 'y'?" (or the list of pools, or how to define one).
std::string unknownNameMessage(const std::string& kind, const std::string& name,
                               const std::vector<std::string_view>& known);
// True when `regex` compiles with RE2; otherwise reports RE2's error at value.pos.
bool checkRegex(ConfigReporter& r, const ConfigValue& value, const std::string& regex);

}  // namespace detour
