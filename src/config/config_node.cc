#include "config/config_node.h"

#include <algorithm>
#include <limits>

#include "common/string_util.h"
#include "config/config_loader.h"
#include "config/config_syntax.h"

namespace detour {

namespace {

constexpr size_t kMaxQuotedLength = 40;

bool isQuoted(const YAML::Node& node) { return node.Tag() == "!"; }

// A decimal integer with an optional leading '-'; nullopt on anything else or overflow.
std::optional<int64_t> parseSignedDecimal(std::string_view text) {
  bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  auto magnitude = parseDecimal(text);
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (!magnitude || *magnitude > kMax) return std::nullopt;
  auto v = static_cast<int64_t>(*magnitude);
  return negative ? -v : v;
}

bool looksLikeInteger(std::string_view text) {
  if (!text.empty() && text.front() == '-') text.remove_prefix(1);
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string rangeMessage(const ConfigValue& value, int64_t v, int64_t min, int64_t max) {
  std::string got = " (got " + std::to_string(v) + ")";
  // An upper bound that only guards the C++ type is not worth showing unless it was passed.
  if (max >= std::numeric_limits<int>::max()) {
    if (v < min) return value.label + " must be at least " + std::to_string(min) + got;
    return value.label + " must be at most " + std::to_string(max) + got;
  }
  return value.label + " must be between " + std::to_string(min) + " and " + std::to_string(max) +
         got;
}

// Why a duration was refused, for the common slips.
std::string durationHint(std::string_view text) {
  if (looksLikeInteger(text)) return ": add a unit, as in " + std::string(text) + "s";
  if (text.find('.') != std::string_view::npos) {
    return ": fractions are not allowed, use a smaller unit (1500ms, not 1.5s)";
  }
  if (text.find(' ') != std::string_view::npos) return ": remove the space";
  return "";
}

std::string joinNames(const std::vector<std::string_view>& names) {
  std::string out;
  for (auto name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace

Pos nodePos(const YAML::Node& node) {
  YAML::Mark mark = node.Mark();
  if (mark.line < 0 || mark.column < 0) return {1, 1};
  return {mark.line + 1, mark.column + 1};
}

ConfigReporter::ConfigReporter(std::string file, std::string base_dir, Diagnostics& diags)
    : file_(std::move(file)), base_dir_(std::move(base_dir)), diags_(diags) {}

void ConfigReporter::error(Pos pos, std::string message) {
  ++errors_;
  diags_.error(file_, pos, std::move(message));
}

void ConfigReporter::warning(Pos pos, std::string message) {
  diags_.warning(file_, pos, std::move(message));
}

std::string closestName(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string_view best;
  size_t best_distance = 3;
  for (auto candidate : candidates) {
    size_t d = editDistance(word, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  if (best.empty() || best_distance >= word.size()) return "";
  return std::string(best);
}

std::string didYouMean(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string best = closestName(word, candidates);
  return best.empty() ? "" : "; did you mean '" + best + "'?";
}

std::string describeNode(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  if (isQuoted(node)) return "the string " + quoteText(node.Scalar());
  return quoteText(node.Scalar());
}

std::string describePlain(const YAML::Node& node) {
  if (node.IsScalar() && !isQuoted(node) && node.Scalar().size() <= kMaxQuotedLength &&
      looksLikeInteger(node.Scalar())) {
    return node.Scalar();
  }
  return describeNode(node);
}

ConfigMap::ConfigMap(ConfigReporter& reporter, const ConfigValue& value, std::string section,
                     std::vector<std::string_view> keys, std::vector<Hint> hints)
    : reporter_(reporter), section_(std::move(section)), pos_(value.pos) {
  if (!value.node.IsMap()) {
    reporter_.error(value.pos, value.label + " must be a map, got " + describeNode(value.node));
    return;
  }
  is_map_ = true;
  for (auto it = value.node.begin(); it != value.node.end(); ++it) {
    readEntry(it->first, it->second, keys, hints);
  }
}

void ConfigMap::readEntry(const YAML::Node& key, const YAML::Node& value,
                          const std::vector<std::string_view>& keys,
                          const std::vector<Hint>& hints) {
  Pos key_pos = nodePos(key);
  if (!key.IsScalar()) {
    reporter_.error(key_pos, "keys in " + section_ + " must be names, got " + describeNode(key));
    return;
  }
  ConfigValue entry{value, key.Scalar(), quoteText(key.Scalar()),
                    value.IsNull() ? key_pos : nodePos(value), key_pos};
  for (const auto& [seen, seen_pos] : seen_) {
    if (seen == entry.key) {
      reporter_.error(key_pos, "duplicate key " + entry.label + " (first at line " +
                                   std::to_string(seen_pos.line) + "): keep one");
      return;
    }
  }
  seen_.emplace_back(entry.key, key_pos);
  if (!keys.empty() && std::find(keys.begin(), keys.end(), entry.key) == keys.end()) {
    reportUnknown(entry, keys, hints);
    return;
  }
  entries_.push_back(std::move(entry));
}

void ConfigMap::reportUnknown(const ConfigValue& entry, const std::vector<std::string_view>& keys,
                              const std::vector<Hint>& hints) {
  std::string suggestion;
  for (const auto& [wrong, right] : hints) {
    if (suggestion.empty() && equalsIgnoreCase(wrong, entry.key)) suggestion = std::string(right);
  }
  if (suggestion.empty()) suggestion = closestName(entry.key, keys);
  std::string message = "unknown key " + entry.label + " in " + section_;
  if (entry.key == "<<") {
    message += ": YAML merge keys are not supported; write the keys out";
  } else if (suggestion.empty()) {
    message += " (valid keys: " + joinNames(keys) + ")";
  } else {
    message += "; did you mean '" + suggestion + "'?";
    suggested_.push_back(suggestion);
  }
  reporter_.error(entry.key_pos, std::move(message));
}

std::optional<ConfigValue> ConfigMap::get(std::string_view key) const {
  for (const auto& entry : entries_) {
    if (entry.key == key) return entry;
  }
  return std::nullopt;
}

std::optional<ConfigValue> ConfigMap::require(std::string_view key) const {
  auto value = get(key);
  // A misspelt key was already reported with a did-you-mean naming this one.
  if (!value && is_map_ && !suggested(key)) {
    reporter_.error(pos_, "missing required key '" + std::string(key) + "' in " + section_);
  }
  return value;
}

bool ConfigMap::suggested(std::string_view key) const {
  return std::find(suggested_.begin(), suggested_.end(), key) != suggested_.end();
}

std::optional<std::string> readString(ConfigReporter& r, const ConfigValue& value) {
  if (value.node.IsScalar()) return value.node.Scalar();
  r.error(value.pos, value.label + " must be a string, got " + describeNode(value.node));
  return std::nullopt;
}

std::optional<int64_t> readInt(ConfigReporter& r, const ConfigValue& value, int64_t min,
                               int64_t max) {
  const YAML::Node& node = value.node;
  std::optional<int64_t> v;
  if (node.IsScalar() && !isQuoted(node)) v = parseSignedDecimal(node.Scalar());
  if (!v) {
    std::string message = value.label + " must be an integer, got " + describeNode(node);
    if (node.IsScalar() && looksLikeInteger(node.Scalar())) {
      message += isQuoted(node) ? ": remove the quotes" : ", which is too large";
    }
    r.error(value.pos, std::move(message));
    return std::nullopt;
  }
  if (*v < min || *v > max) {
    r.error(value.pos, rangeMessage(value, *v, min, max));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> readBool(ConfigReporter& r, const ConfigValue& value) {
  const YAML::Node& node = value.node;
  bool b = false;
  bool decodes = node.IsScalar() && YAML::convert<bool>::decode(node, b);
  if (decodes && !isQuoted(node)) return b;
  std::string message = value.label + " must be true or false, got " + describeNode(node);
  if (decodes) message += ": remove the quotes";
  r.error(value.pos, std::move(message));
  return std::nullopt;
}

std::optional<Duration> readDuration(ConfigReporter& r, const ConfigValue& value) {
  if (!value.node.IsScalar()) {
    r.error(value.pos, value.label + " must be a duration like 500ms, 10s, 2m or 1h, got " +
                           describeNode(value.node));
    return std::nullopt;
  }
  const std::string& text = value.node.Scalar();
  auto d = parseDuration(text);
  if (!d) {
    r.error(value.pos, value.label + " must be a duration like 500ms, 10s, 2m or 1h, got " +
                           describeNode(value.node) + durationHint(text));
    return std::nullopt;
  }
  if (d->count() <= 0) {
    r.error(value.pos, value.label + " must be greater than 0");
    return std::nullopt;
  }
  return d;
}

std::optional<std::string> readEnum(ConfigReporter& r, const ConfigValue& value,
                                    const std::vector<std::string_view>& allowed) {
  std::string text = value.node.IsScalar() ? value.node.Scalar() : "";
  if (value.node.IsScalar() && std::find(allowed.begin(), allowed.end(), text) != allowed.end()) {
    return text;
  }
  std::string message = value.label + " must be one of " + joinNames(allowed) + " (got " +
                        describeNode(value.node) + ")";
  if (value.node.IsScalar()) message += didYouMean(text, allowed);
  r.error(value.pos, std::move(message));
  return std::nullopt;
}

std::optional<std::vector<ConfigValue>> readList(ConfigReporter& r, const ConfigValue& value,
                                                 bool non_empty) {
  if (!value.node.IsSequence()) {
    std::string message = value.label + " must be a list, got " + describeNode(value.node);
    if (value.node.IsScalar()) {
      std::string q = isQuoted(value.node) ? "\"" : "";
      message += ": put it in brackets, as in [" + q + value.node.Scalar() + q + "]";
    }
    r.error(value.pos, std::move(message));
    return std::nullopt;
  }
  if (non_empty && value.node.size() == 0) {
    r.error(value.pos, value.label + " must not be empty");
    return std::nullopt;
  }
  std::string item_label =
      "each item of " + (value.key.empty() ? value.label : "'" + value.key + "'");
  std::vector<ConfigValue> items;
  for (const auto& item : value.node) {
    Pos pos = item.IsNull() ? value.pos : nodePos(item);
    items.push_back({item, "", item_label, pos, pos});
  }
  return items;
}

}  // namespace detour
