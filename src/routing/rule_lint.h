#pragma once

// The rule lints with their options, and the rules-only pass `detour check` runs on a file
// that failed elsewhere (lintRules(table, now, diags) in rule_table.h is the plain form).

#include "config/config.h"
#include "config/config_errors.h"
#include "routing/rule_table.h"

namespace detour {

struct LintOptions {
  EpochMillis now = 0;  // for the expired-window lint
  // False when server.hosts may be incomplete (it had an error): the unchecked-{host} lint,
  // which reads it, is skipped rather than blaming rules for a list that did not load.
  bool hosts_known = true;
};

// lintRules() of rule_table.h, with options. Pure; thread-safe.
void lintRules(const RuleTable& table, const LintOptions& opts, Diagnostics& diags);

// For a config that did not load or compile as a whole (PartialConfig, or a Config whose
// table failed): compiles each rule on its own, reports the errors of those that fail, then
// compiles the table of the others and lints it. A rule that failed is left out of every
// later check, so its error is not echoed as a warning about it or about the rules after it.
// Touches no runtime state. Pure; thread-safe.
void compileAndLintRules(const Config& config, const LintOptions& opts, Diagnostics& diags);

}  // namespace detour
