// checkConfigFile(): buildSnapshot, then the stages it did not reach.
//
// buildSnapshot stops at the first stage that fails (reading, compiling, linting): that is all
// start-up and reload need to refuse a file. A user fixing a file wants every problem at once,
// so on an error the file is loaded again and its clean parts (LoadResult::partial, or the
// whole config when only compiling failed) are compiled and linted rule by rule. A finding
// buildSnapshot already made is not repeated.

#include "cli/config_check.h"

#include <string>
#include <unordered_set>

#include "config/config_loader.h"
#include "routing/rule_lint.h"

namespace detour {
namespace {

// Adds the compile and lint findings for the parts of `path` that read cleanly.
void checkLaterStages(const std::string& path, int64_t now_ms, Diagnostics& diags) {
  LoadResult loaded = loadConfigFile(path);
  LintOptions lint;
  lint.now = now_ms >= 0 ? now_ms : nowMillis();
  const Config* config = nullptr;
  if (loaded.config) {
    config = &*loaded.config;  // read cleanly: compiling failed
  } else if (loaded.partial) {
    config = &loaded.partial->config;
    lint.hosts_known = loaded.partial->hosts_known;
  }
  if (config == nullptr) return;  // the YAML itself did not parse: nothing to go on with
  Diagnostics more;
  compileAndLintRules(*config, lint, more);
  std::unordered_set<std::string> known;  // formatted: severity, file, position and message
  for (const Diagnostic& d : diags.all()) known.insert(d.format());
  for (const Diagnostic& d : more.all()) {
    if (!known.insert(d.format()).second) continue;
    if (d.severity == Severity::kError) {
      diags.error(d.file, d.pos, d.message);
    } else {
      diags.warning(d.file, d.pos, d.message);
    }
  }
}

}  // namespace

CheckOutcome checkConfigFile(const std::string& path, bool strict, int64_t now_ms) {
  CheckOutcome out;
  RuntimeState state;
  SnapshotOptions so;
  so.strict = strict;
  so.now_ms = now_ms;
  out.snapshot = buildSnapshot(path, state, out.diagnostics, so);
  // Errors (not strict's warnings) mean a stage stopped before the others ran.
  if (!out.snapshot && out.diagnostics.hasErrors()) checkLaterStages(path, now_ms, out.diagnostics);
  out.diagnostics.sortByPosition();
  return out;
}

}  // namespace detour
