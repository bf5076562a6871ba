// Reader for a rule's `match:` block.

#include <re2/re2.h>

#include "common/string_util.h"
#include "config/config_sections.h"
#include "config/config_syntax.h"

namespace detour {

namespace {

void readHost(ConfigReporter& r, const ConfigValue& value, MatchConfig& match) {
  std::vector<ConfigValue> items;
  if (value.node.IsSequence()) {
    auto list = readList(r, value, /*non_empty=*/true);
    if (!list) return;
    items = std::move(*list);
  } else {
    items.push_back(value);
  }
  for (const auto& item : items) {
    auto host = readString(r, item);
    if (!host) continue;
    std::string lower = asciiLowerCopy(*host);
    std::string why = hostPatternProblem(lower);
    if (!why.empty()) {
      r.error(item.pos, "host " + quoteText(*host) + " is not valid: " + why);
      continue;
    }
    match.hosts.push_back(std::move(lower));
  }
}

std::optional<std::string> readPath(ConfigReporter& r, const ConfigValue& value) {
  auto path = readString(r, value);
  if (!path) return std::nullopt;
  std::string problem = pathProblem(value.label, *path);
  if (problem.empty()) return path;
  r.error(value.pos, std::move(problem));
  return std::nullopt;
}

bool hasLowerCase(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

std::string upperCopy(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return out;
}

void readMethods(ConfigReporter& r, const ConfigValue& value, MatchConfig& match) {
  auto items = readList(r, value, /*non_empty=*/true);
  if (!items) return;
  for (const auto& item : *items) {
    auto method = readString(r, item);
    if (!method) continue;
    if (!isHttpToken(*method)) {
      r.error(item.pos, "method " + quoteText(*method) +
                            " is not a valid HTTP method: use a token like GET or POST");
    } else if (hasLowerCase(*method)) {
      r.error(item.pos, "method " + quoteText(*method) +
                            " must be upper-case: " + quoteText(upperCopy(*method)));
    } else {
      match.methods.push_back(*method);
    }
  }
}

std::optional<HeaderMatchConfig> readHeaderCondition(ConfigReporter& r, const ConfigValue& entry) {
  HeaderMatchConfig header;
  header.name = entry.key;
  header.pos = entry.key_pos;
  if (!isHttpToken(entry.key)) {
    r.error(entry.key_pos, "header name " + quoteText(entry.key) +
                               " is not valid: use letters, digits and '-', like X-Debug");
    return std::nullopt;
  }
  if (entry.node.IsMap()) {
    ConfigValue value = entry;
    value.label = "header " + quoteText(entry.key);
    ConfigMap map(r, value, value.label, {"regex"}, {{"regexp", "regex"}, {"pattern", "regex"}});
    auto regex = map.require("regex");
    auto text = regex ? readString(r, *regex) : std::nullopt;
    if (!text || !checkRegex(r, *regex, *text)) return std::nullopt;
    header.is_regex = true;
    header.regex = *text;
    return header;
  }
  if (!entry.node.IsScalar()) {
    r.error(entry.pos, "header " + quoteText(entry.key) +
                           " must be a string or { regex: \"...\" }, got " +
                           describeNode(entry.node));
    return std::nullopt;
  }
  header.value = entry.node.Scalar();
  if (hasCrLfNul(header.value)) {
    r.error(entry.pos,
            "value of header " + quoteText(entry.key) + " must not contain CR, LF or NUL");
    return std::nullopt;
  }
  return header;
}

void readHeaderConditions(ConfigReporter& r, const ConfigValue& value, MatchConfig& match) {
  ConfigMap map(r, value, "match.headers", {});
  for (const auto& entry : map.entries()) {
    if (auto header = readHeaderCondition(r, entry)) match.headers.push_back(std::move(*header));
  }
}

// `path` is exact; combining it with a prefix or a regex is a mistake either way.
void checkPathCombination(ConfigReporter& r, const ConfigMap& map) {
  auto path = map.get("path");
  if (!path) return;
  for (const char* other_key : {"path_prefix", "path_regex"}) {
    auto other = map.get(other_key);
    if (!other) continue;
    bool other_later = std::pair(other->key_pos.line, other->key_pos.col) >
                       std::pair(path->key_pos.line, path->key_pos.col);
    r.error(other_later ? other->key_pos : path->key_pos,
            "'path' and '" + std::string(other_key) + "' cannot be used together: keep one");
  }
}

}  // namespace

bool checkRegex(ConfigReporter& r, const ConfigValue& value, const std::string& regex) {
  RE2::Options options;
  options.set_log_errors(false);
  RE2 re(regex, options);
  if (re.ok()) return true;
  r.error(value.pos, value.label + " is not a valid RE2 regex: " + re.error());
  return false;
}

std::optional<MatchConfig> readMatch(ConfigReporter& r, const ConfigValue& value) {
  ConfigMap map(r, value, "match",
                {"host", "scheme", "path", "path_prefix", "path_regex", "methods", "headers"},
                {{"prefix", "path_prefix"},
                 {"regex", "path_regex"},
                 {"uri", "path"},
                 {"hostname", "host"},
                 {"verbs", "methods"}});
  if (!map.isMap()) return std::nullopt;
  MatchConfig match;
  match.pos = map.pos();
  if (auto v = map.get("host")) readHost(r, *v, match);
  if (auto v = map.get("scheme")) {
    if (auto scheme = readEnum(r, *v, {"http", "https"})) {
      match.scheme = *scheme == "http" ? Scheme::kHttp : Scheme::kHttps;
    }
  }
  if (auto v = map.get("path")) match.path = readPath(r, *v);
  if (auto v = map.get("path_prefix")) match.path_prefix = readPath(r, *v);
  if (auto v = map.get("path_regex")) {
    auto regex = readString(r, *v);
    if (regex && checkRegex(r, *v, *regex)) match.path_regex = *regex;
  }
  checkPathCombination(r, map);
  if (auto v = map.get("methods")) readMethods(r, *v, match);
  if (auto v = map.get("headers")) readHeaderConditions(r, *v, match);
  return match;
}

}  // namespace detour
