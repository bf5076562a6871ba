#include "routing/rule_table.h"

#include <algorithm>

#include "common/string_util.h"

#include "routing/compiled_rule_impl.h"
#include "routing/rule_index.h"

namespace detour {
namespace {

ActionKind kindOf(const RuleAction& action) {
  if (std::holds_alternative<RedirectAction>(action)) return ActionKind::kRedirect;
  if (std::holds_alternative<ForwardAction>(action)) return ActionKind::kForward;
  return ActionKind::kRespond;
}

// Takes the runtime cells once the whole table compiled, so that a failed compile (say, a
// reload with a typo) leaves every flag value as it was.
void resolveCells(const Config& config, RuntimeState& state,
                  std::vector<std::shared_ptr<CompiledRuleImpl>>& impls) {
  for (const FlagConfig& flag : config.flags) state.flagCell(flag.name, flag.default_value);
  for (const PoolConfig& pool : config.pools) state.poolCell(pool.name);
  for (auto& impl : impls) {
    switch (impl->when_kind) {
      case WhenConfig::Kind::kNone:
        break;
      case WhenConfig::Kind::kFlag:
      case WhenConfig::Kind::kNotFlag:
        impl->flag = state.findFlag(impl->when_name);
        break;
      case WhenConfig::Kind::kPoolDown:
        impl->pool = state.poolCell(impl->when_name);
        break;
    }
  }
}

}  // namespace

RuleTable::~RuleTable() = default;

std::shared_ptr<const RuleTable> RuleTable::compile(const Config& config, RuntimeState& state,
                                                    Diagnostics& diags) {
  size_t errors_before = diags.errorCount();
  std::shared_ptr<RuleTable> table(new RuleTable());
  table->config_ = std::make_unique<Config>(config);
  const std::vector<RuleConfig>& rules = table->config_->rules;

  std::vector<std::shared_ptr<CompiledRuleImpl>> impls;
  impls.reserve(rules.size());
  for (const RuleConfig& rule : rules) impls.push_back(compileRule(rule, *table->config_, diags));
  if (diags.errorCount() != errors_before) return nullptr;

  resolveCells(*table->config_, state, impls);
  table->rules_.resize(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    CompiledRule& r = table->rules_[i];
    r.id_ = i;
    r.name_ = rules[i].name;
    r.kind_ = kindOf(rules[i].action);
    r.config_ = &rules[i];
    r.impl_ = std::move(impls[i]);
    table->by_name_.emplace(rules[i].name, i);  // keeps the first of duplicate names
  }

  std::string error;
  uint32_t failed_id = 0;
  table->index_ = RuleIndex::build(table->rules_, &error, &failed_id);
  if (!table->index_) {
    const RuleConfig& at = rules[std::min<size_t>(failed_id, rules.size() - 1)];
    Pos pos = at.match ? at.match->pos : at.pos;
    diags.error(config.file, pos, "rule '" + at.name + "': cannot index path_regex: " + error);
    return nullptr;
  }
  return table;
}

const CompiledRule* RuleTable::match(const RequestView& req, const MatchContext& ctx,
                                     MatchCaptures& caps) const {
  return index_->match(rules_, req, ctx, caps, nullptr);
}

const CompiledRule* RuleTable::matchCountingForTest(const RequestView& req, const MatchContext& ctx,
                                                    MatchCaptures& caps, size_t* checks) const {
  *checks = 0;
  return index_->match(rules_, req, ctx, caps, checks);
}

const CompiledRule* RuleTable::matchLinearForTest(const RequestView& req, const MatchContext& ctx,
                                                  MatchCaptures& caps) const {
  for (const CompiledRule& rule : rules_) {
    if (rule.matches(req, ctx, caps)) return &rule;
  }
  return nullptr;
}

const CompiledRule* RuleTable::findRule(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &rules_[it->second];
}

bool RuleTable::servesHost(std::string_view host) const {
  if (host.empty()) return false;
  for (const std::string& pattern : config_->server.hosts) {
    if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
      std::string_view suffix = std::string_view(pattern).substr(1);  // ".example.com"
      if (host.size() > suffix.size() &&
          equalsIgnoreCase(host.substr(host.size() - suffix.size()), suffix)) {
        return true;
      }
    } else if (equalsIgnoreCase(host, pattern)) {
      return true;
    }
  }
  return false;
}

bool RuleTable::redirectHostAllowed(const CompiledRule& rule, std::string_view host) const {
  const CompiledRedirect* r = rule.redirect();
  if (r == nullptr || !r->to.usesHost() || rule.hostChecked()) return true;
  if (config_->server.hosts.empty()) return true;  // unchecked: `detour check` warns about it
  return servesHost(host);
}

}  // namespace detour
