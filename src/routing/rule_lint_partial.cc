// compileAndLintRules(): the compile and lint stages for the rules of a file that failed
// elsewhere, so that `detour check` reports every independent problem in one run.

#include "routing/compiled_rule_impl.h"
#include "routing/rule_lint.h"

namespace detour {

void compileAndLintRules(const Config& config, const LintOptions& opts, Diagnostics& diags) {
  Config clean = config;
  clean.rules.clear();
  for (const RuleConfig& rule : config.rules) {
    size_t errors_before = diags.errorCount();
    // Compiled again by RuleTable::compile below; this error path can afford it.
    bool compiled = compileRule(rule, config, diags) != nullptr;
    if (compiled && diags.errorCount() == errors_before) clean.rules.push_back(rule);
  }
  RuntimeState scratch;  // the table is only linted, never served
  auto table = RuleTable::compile(clean, scratch, diags);
  if (table) lintRules(*table, opts, diags);
}

}  // namespace detour
