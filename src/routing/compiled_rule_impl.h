#pragma once

// Internal to src/routing: the compiled conditions and action of one rule, behind
// CompiledRule. Built by compileRule() (compiled_rule.cc), immutable afterwards.

#include <re2/re2.h>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "config/config.h"
#include "config/config_errors.h"
#include "routing/request_view.h"
#include "routing/rule_table.h"
#include "routing/runtime_state.h"

namespace detour {

// One `headers:` condition. Holds when any request header of that name (ASCII
// case-insensitive) has the value (exact, after trimming) or fully matches the regex.
struct HeaderCondition {
  std::string name;  // lower-cased
  std::string value;
  std::unique_ptr<re2::RE2> regex;  // null: exact value

  bool holds(std::span<const HeaderView> headers) const;
};

struct CompiledRuleImpl {
  // match
  std::vector<std::string> exact_hosts;        // lower-cased
  std::vector<std::string> wildcard_suffixes;  // lower-cased, with the dot: ".example.com"
  std::optional<Scheme> scheme;
  std::optional<std::string> path;
  std::optional<std::string> path_prefix;
  std::unique_ptr<re2::RE2> path_regex;
  int submatches = 0;  // groups (0 included) to extract: the template's submatchCount()
  std::vector<std::string> methods;
  std::vector<HeaderCondition> headers;

  // when: the cell is resolved after the whole table compiled (so a failed compile changes
  // no runtime value); read with relaxed loads.
  WhenConfig::Kind when_kind = WhenConfig::Kind::kNone;
  std::string when_name;
  const FlagCell* flag = nullptr;
  const PoolCell* pool = nullptr;

  // active
  std::optional<EpochMillis> from;
  std::optional<EpochMillis> until;

  std::variant<CompiledRedirect, CompiledForward, CompiledRespond> action;

  bool hasHostCondition() const { return !exact_hosts.empty() || !wildcard_suffixes.empty(); }
  bool hostMatches(std::string_view host) const;
  bool whenHolds() const;
  bool activeAt(EpochMillis now) const;
  // The match block alone; fills caps (groups, path_suffix) when it returns true.
  bool conditionsHold(const RequestView& req, MatchCaptures& caps) const;
};

// Compiles one rule's match, when, active and action. Errors go to `diags` (at the offending
// key, in `config.file`); returns null when there was any. Flag and pool cells are left null:
// the caller resolves them once the whole table compiled.
std::shared_ptr<CompiledRuleImpl> compileRule(const RuleConfig& rule, const Config& config,
                                              Diagnostics& diags);

// The RE2 options every rule regex uses (and the RE2::Set, so both agree on every match).
re2::RE2::Options ruleRegexOptions();

}  // namespace detour
