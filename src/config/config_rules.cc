// Reader for the `rules:` section: each rule's name, `when`, `active` and its one action (the
// `match` block and the actions have their own files).

#include <algorithm>
#include <map>

#include "config/config_loader.h"
#include "config/config_sections.h"
#include "config/config_syntax.h"

namespace detour {

namespace {

const std::vector<std::string_view> kRuleKeys = {"name",     "match",   "when",   "active",
                                                 "redirect", "forward", "respond"};
const std::vector<std::string_view> kActionKeys = {"redirect", "forward", "respond"};

// Rule names seen so far, with the line each was first defined at.
using RuleNames = std::map<std::string, int>;

// The rule's `name` when it is a scalar, read without reporting (for naming it in messages
// before the map is checked).
std::string peekName(const YAML::Node& node) {
  if (!node.IsMap()) return "";
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == "name" && it->second.IsScalar()) {
      return it->second.Scalar();
    }
  }
  return "";
}

void readName(ConfigReporter& r, const ConfigMap& map, RuleNames& names, RuleConfig& rule) {
  auto value = map.get("name");
  if (!value) {
    r.error(map.pos(), map.section() + " has no 'name': add a unique one, like name: api-v1");
    return;
  }
  auto name = readString(r, *value);
  if (!name) return;
  rule.name = *name;
  if (!isConfigName(*name)) {
    r.error(value->pos, "rule name " + quoteText(*name) +
                            " may only contain letters, digits, '_', '.' and '-'");
    return;
  }
  auto [it, inserted] = names.emplace(*name, value->pos.line);
  if (!inserted) {
    r.error(value->pos, "duplicate rule name " + quoteText(*name) + " (first defined at line " +
                            std::to_string(it->second) + ")");
  }
}

std::vector<std::string_view> flagNames(const Config& config) {
  std::vector<std::string_view> names;
  for (const auto& flag : config.flags) names.push_back(flag.name);
  return names;
}

std::vector<std::string_view> poolNames(const Config& config) {
  std::vector<std::string_view> names;
  for (const auto& pool : config.pools) names.push_back(pool.name);
  return names;
}

void readWhenFlag(ConfigReporter& r, const ConfigValue& value, const Config& config,
                  WhenConfig& when) {
  auto text = readString(r, value);
  if (!text) return;
  bool negated = !text->empty() && text->front() == '!';
  when.kind = negated ? WhenConfig::Kind::kNotFlag : WhenConfig::Kind::kFlag;
  when.name = negated ? text->substr(1) : *text;
  if (config.findFlag(when.name) == nullptr) {
    r.error(value.pos, unknownNameMessage("flag", when.name, flagNames(config)));
  }
}

void readWhenPool(ConfigReporter& r, const ConfigValue& value, const Config& config,
                  WhenConfig& when) {
  auto text = readString(r, value);
  if (!text) return;
  when.kind = WhenConfig::Kind::kPoolDown;
  when.name = *text;
  if (config.findPool(when.name) == nullptr) {
    r.error(value.pos, unknownNameMessage("pool", when.name, poolNames(config)));
  }
}

WhenConfig readWhen(ConfigReporter& r, const ConfigValue& value, const Config& config) {
  WhenConfig when;
  when.pos = value.pos;
  ConfigMap map(r, value, "when", {"flag", "pool_down"},
                {{"pool", "pool_down"}, {"pooldown", "pool_down"}, {"not_flag", "flag"}});
  if (!map.isMap()) return when;
  auto flag = map.get("flag");
  auto pool = map.get("pool_down");
  if (flag && pool) {
    const ConfigValue& later = flag->key_pos.line > pool->key_pos.line ? *flag : *pool;
    r.error(later.key_pos,
            "'when' has both 'flag' and 'pool_down': keep one (split the rule "
            "in two to test both)");
  } else if (!flag && !pool && !map.suggested("flag") && !map.suggested("pool_down")) {
    r.error(map.pos(), "'when' needs one of 'flag' or 'pool_down'");
  }
  if (flag) readWhenFlag(r, *flag, config, when);
  if (pool && !flag) readWhenPool(r, *pool, config, when);
  return when;
}

std::optional<EpochMillis> readTime(ConfigReporter& r, const ConfigValue& value) {
  auto text = readString(r, value);
  if (!text) return std::nullopt;
  auto t = parseRfc3339(*text);
  if (t) return t;
  std::string message = value.label + " must be an RFC 3339 time like 2026-11-27T00:00:00Z, got " +
                        describeNode(value.node);
  std::string fix = rfc3339Problem(*text);
  if (!fix.empty()) message += ": " + fix;
  r.error(value.pos, std::move(message));
  return std::nullopt;
}

ActiveWindow readActive(ConfigReporter& r, const ConfigValue& value) {
  ActiveWindow active;
  ConfigMap map(r, value, "active", {"from", "until"},
                {{"start", "from"}, {"since", "from"}, {"end", "until"}, {"to", "until"}});
  if (!map.isMap()) return active;
  auto from = map.get("from");
  auto until = map.get("until");
  if (!from && !until && !map.suggested("from") && !map.suggested("until")) {
    r.error(map.pos(), "'active' needs 'from', 'until' or both");
  }
  if (from) {
    active.from = readTime(r, *from);
    active.from_pos = from->pos;
  }
  if (until) {
    active.until = readTime(r, *until);
    active.until_pos = until->pos;
  }
  if (active.from && active.until && *active.from >= *active.until) {
    r.error(until->pos, "'until' (" + until->node.Scalar() + ") must be later than 'from' (" +
                            from->node.Scalar() + ")");
  }
  return active;
}

std::string actionList(const std::vector<ConfigValue>& actions) {
  std::string out;
  for (size_t i = 0; i < actions.size(); ++i) {
    if (i > 0) out += i + 1 == actions.size() ? " and " : ", ";
    out += actions[i].key;
  }
  return out;
}

// The action keys present, in file order.
std::vector<ConfigValue> presentActions(const ConfigMap& map) {
  std::vector<ConfigValue> actions;
  for (auto key : kActionKeys) {
    if (auto v = map.get(key)) actions.push_back(*v);
  }
  std::sort(actions.begin(), actions.end(), [](const ConfigValue& a, const ConfigValue& b) {
    return std::pair(a.key_pos.line, a.key_pos.col) < std::pair(b.key_pos.line, b.key_pos.col);
  });
  return actions;
}

std::optional<RuleAction> readAction(ConfigReporter& r, const ConfigValue& value,
                                     const Config& config) {
  if (value.key == "redirect") {
    if (auto a = readRedirect(r, value)) return RuleAction(std::move(*a));
  } else if (value.key == "forward") {
    if (auto a = readForward(r, value, config)) return RuleAction(std::move(*a));
  } else if (auto a = readRespond(r, value)) {
    return RuleAction(std::move(*a));
  }
  return std::nullopt;
}

void readActions(ConfigReporter& r, const ConfigMap& map, const Config& config, RuleConfig& rule) {
  auto actions = presentActions(map);
  bool typo = std::any_of(kActionKeys.begin(), kActionKeys.end(),
                          [&](std::string_view key) { return map.suggested(key); });
  if (actions.empty() && !typo) {
    r.error(map.pos(), map.section() + " has no action: add one of redirect, forward, respond");
  }
  if (actions.size() > 1) {
    static const char* kCount[] = {"", "", "two", "three"};
    r.error(actions[1].key_pos, map.section() + " has " + kCount[actions.size()] + " actions (" +
                                    actionList(actions) + "): keep one");
  }
  for (size_t i = 0; i < actions.size(); ++i) {
    auto action = readAction(r, actions[i], config);
    if (i == 0 && action) {
      rule.action = std::move(*action);
      rule.action_pos = actions[0].key_pos;
    }
  }
}

std::optional<RuleConfig> readRule(ConfigReporter& r, const ConfigValue& item, size_t index,
                                   const Config& config, RuleNames& names) {
  std::string name = peekName(item.node);
  std::string label =
      isConfigName(name) ? "rule " + quoteText(name) : "rule #" + std::to_string(index + 1);
  ConfigMap map(r, item, label, kRuleKeys,
                {{"action", "redirect"},
                 {"proxy", "forward"},
                 {"return", "respond"},
                 {"if", "when"},
                 {"condition", "when"},
                 {"window", "active"}});
  if (!map.isMap()) return std::nullopt;
  RuleConfig rule;
  rule.pos = item.pos;
  readName(r, map, names, rule);
  if (auto v = map.get("match")) rule.match = readMatch(r, *v);
  if (auto v = map.get("when")) rule.when = readWhen(r, *v, config);
  if (auto v = map.get("active")) rule.active = readActive(r, *v);
  readActions(r, map, config, rule);
  return rule;
}

}  // namespace

std::string unknownNameMessage(const std::string& kind, const std::string& name,
                               const std::vector<std::string_view>& known) {
  std::string message = "unknown " + kind + " " + quoteText(name);
  if (known.empty()) return message + ": define it under '" + kind + "s'";
  std::string suggestion = didYouMean(name, known);
  if (!suggestion.empty()) return message + suggestion;
  message += " (defined " + kind + "s: ";
  for (size_t i = 0; i < known.size(); ++i) {
    message += (i > 0 ? ", " : "") + std::string(known[i]);
  }
  return message + ")";
}

void readRules(ConfigReporter& r, const ConfigValue& value, Config& config) {
  std::vector<ConfigValue> items;
  if (!value.node.IsNull()) {
    auto list = readList(r, value, /*non_empty=*/false);
    if (!list) return;
    items = std::move(*list);
  }
  if (items.empty()) r.warning(value.pos, "no rules: every request gets 404");
  RuleNames names;
  for (size_t i = 0; i < items.size(); ++i) {
    size_t errors_before = r.errorCount();
    if (auto rule = readRule(r, items[i], i, config, names)) {
      if (r.errorCount() != errors_before) r.incomplete().rules.push_back(config.rules.size());
      config.rules.push_back(std::move(*rule));
    }
  }
}

}  // namespace detour
