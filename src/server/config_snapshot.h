#pragma once

// ConfigSnapshot: one loaded, validated and compiled config, immutable and shared by every
// worker through shared_ptr. A reload builds a new one off the data path and publishes it;
// exchanges already running keep the snapshot they started with.

#include <cstdint>
#include <map>
#include <memory>
#include <vector>
#include <string>

#include "config/config.h"
#include "config/config_errors.h"
#include "http/parser.h"
#include "routing/rule_table.h"
#include "routing/runtime_state.h"

namespace detour {

class AccessLog;

struct ConfigSnapshot {
  std::shared_ptr<const RuleTable> table;
  uint64_t generation = 0;  // 1 for the first config, +1 per successful reload
  ParserLimits parser_limits;
  // Set by the server before the snapshot is published; shared across reloads when the log
  // settings did not change.
  std::shared_ptr<AccessLog> access_log;
  // Each pool's backend addresses, resolved when the snapshot was built (in backend order).
  std::map<std::string, std::vector<SocketAddress>> backend_addresses;

  const Config& config() const { return table->config(); }
};

struct SnapshotOptions {
  bool strict = false;      // warnings count as errors
  bool apply_env = true;    // flags' `env:` overrides their default
  int64_t now_ms = -1;      // for the expired-window lint; -1 = the current time
  bool resolve = false;     // resolve backend names (the server does; check/explain don't)
};

// Loads `path`, validates, compiles against `state` and lints. Every error and warning goes to
// `diags`. Returns null when there was an error (or a warning, with strict). Main thread (it
// may add flag and pool cells to `state` but changes no live value: the caller applies the
// flag defaults with RuntimeState::applyFlagDefault once it serves the snapshot); never throws.
std::shared_ptr<const ConfigSnapshot> buildSnapshot(const std::string& path, RuntimeState& state,
                                                    Diagnostics& diags,
                                                    const SnapshotOptions& opts = {});

// The value a flag's `env:` variable gives it: true/false, or nullopt when unset or invalid.
std::optional<bool> flagEnvValue(const FlagConfig& flag);

// Current Unix time in milliseconds.
int64_t nowMillis();

}  // namespace detour
