#pragma once

// Internal to src/routing: the parts of lintRules() (rule_table.h), one file each.

#include <string>

#include "config/config.h"
#include "config/config_errors.h"
#include "routing/rule_table.h"

namespace detour {

// The rule's position for a key, falling back to the rule's list item when the key's is
// unknown (line 0).
inline Pos lintPos(const RuleConfig& rule, Pos key_pos) {
  return key_pos.line != 0 ? key_pos : rule.pos;
}

// Warns about every rule that an earlier rule without when/active always shadows.
void lintShadowedRules(const RuleTable& table, Diagnostics& diags);

// Warns when a redirect rule's target, for a sample request the rule matches, matches the
// same rule again.
void lintRedirectLoop(const CompiledRule& rule, const std::string& file, Diagnostics& diags);

}  // namespace detour
