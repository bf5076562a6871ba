#include <cstdio>

#include "cli/commands.h"
#include "server/config_snapshot.h"

namespace detour {

int runCheckCommand(const CliOptions& opts) {
  const std::string& path = opts.configs.front();
  RuntimeState state;
  Diagnostics diags;
  SnapshotOptions so;
  so.strict = opts.strict;
  auto snap = buildSnapshot(path, state, diags, so);
  diags.sortByPosition();
  fputs(diags.formatAll().c_str(), stderr);
  if (!snap) {
    fprintf(stderr, "%s: invalid: %zu error(s), %zu warning(s)%s\n", path.c_str(),
            diags.errorCount(), diags.warningCount(),
            opts.strict && diags.warningCount() > 0 ? " (--strict: warnings are errors)" : "");
    return 1;
  }
  const Config& cfg = snap->config();
  fprintf(stdout, "%s: ok: %zu rule(s), %zu pool(s), %zu flag(s), %zu warning(s)\n", path.c_str(),
          cfg.rules.size(), cfg.pools.size(), cfg.flags.size(), diags.warningCount());
  return 0;
}

}  // namespace detour
