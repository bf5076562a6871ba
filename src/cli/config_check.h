#pragma once

// What `detour check` reports about a config file: everything start-up and reload check
// (buildSnapshot), and, when that stops at an error, the later stages too, run on what read or
// compiled cleanly, so that one run shows every independent problem (docs/configuration.md
// "Validation").

#include <cstdint>
#include <memory>
#include <string>

#include "config/config_errors.h"
#include "server/config_snapshot.h"

namespace detour {

struct CheckOutcome {
  // The file's snapshot when it is valid (with `strict`: also free of warnings); else null.
  std::shared_ptr<const ConfigSnapshot> snapshot;
  Diagnostics diagnostics;  // sorted by position
};

// Checks the file at `path`. `now_ms` is the time the expired-window lint compares with (-1:
// now). Never throws.
CheckOutcome checkConfigFile(const std::string& path, bool strict, int64_t now_ms = -1);

}  // namespace detour
