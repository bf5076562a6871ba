#include <cstdio>

#include "cli/commands.h"
#include "cli/config_check.h"

namespace detour {

int runCheckCommand(const CliOptions& opts) {
  const std::string& path = opts.configs.front();
  CheckOutcome outcome = checkConfigFile(path, opts.strict);
  const Diagnostics& diags = outcome.diagnostics;
  fputs(diags.formatAll().c_str(), stderr);
  if (!outcome.snapshot) {
    fprintf(stderr, "%s: invalid: %zu error(s), %zu warning(s)%s\n", path.c_str(),
            diags.errorCount(), diags.warningCount(),
            opts.strict && diags.warningCount() > 0 ? " (--strict: warnings are errors)" : "");
    return 1;
  }
  const Config& cfg = outcome.snapshot->config();
  fprintf(stdout, "%s: ok: %zu rule(s), %zu pool(s), %zu flag(s), %zu warning(s)\n", path.c_str(),
          cfg.rules.size(), cfg.pools.size(), cfg.flags.size(), diags.warningCount());
  return 0;
}

}  // namespace detour
