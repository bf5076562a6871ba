#pragma once

// Reads a detour YAML config into the typed model of config.h and checks everything that can be
// checked without compiling the rule table: YAML syntax, unknown keys (with a did-you-mean),
// types, ranges, durations, addresses, CIDRs, RFC 3339 times, regex syntax, exactly one action
// per rule, duplicate rule names, unknown pools and flags. Rule-level semantics (templates,
// shadowing, loops, method safety) are checked by the rule compiler and linter in routing/.

#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/config_errors.h"

namespace detour {

// What read cleanly from a file with errors, for the checks that can still run on it: `detour
// check` compiles and lints these rules too, so that one run reports every independent
// problem. Nothing that had an error is in it, so those checks add no echo of one.
struct PartialConfig {
  // As far as it could be read; `rules` holds only the rules without an error of their own.
  Config config;
  // False when server.hosts may be missing names (an error in it, a key meant as 'hosts', a
  // broken or missing `server`): checks that read it must be skipped.
  bool hosts_known = true;
};

struct LoadResult {
  // Present when the file had no errors (it may still have warnings).
  std::optional<Config> config;
  // Present when the file had errors but its YAML parsed.
  std::optional<PartialConfig> partial;
  // Every error and warning found, in file order.
  Diagnostics diagnostics;
};

// Loads the file at `path`. Relative TLS paths are resolved against the file's folder.
// Never throws. Thread-safe (no shared state).
LoadResult loadConfigFile(const std::string& path);

// Loads YAML text; `file` names it in diagnostics and `base_dir` resolves relative paths.
LoadResult loadConfigString(std::string_view yaml, const std::string& file,
                            const std::string& base_dir = ".");

// Parses "500ms", "10s", "2m", "1h" (an integer and a unit; "0" alone is zero). Returns nullopt
// on anything else.
std::optional<Duration> parseDuration(std::string_view text);

// Parses an RFC 3339 timestamp ("2026-11-27T00:00:00Z", "2026-11-27T01:00:00.5+01:00") into
// Unix milliseconds. Returns nullopt when malformed or out of range.
std::optional<EpochMillis> parseRfc3339(std::string_view text);

}  // namespace detour
