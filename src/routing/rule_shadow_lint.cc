// The "never reached" lint: rule b is shadowed when an earlier rule a, with no when and no
// active window, matches every request b matches. Implication is decided key by key and
// conservatively (a false "shadowed" would push users to delete a live rule; a missed one
// only costs a warning). Candidates for a come from an index shaped like the match index
// (host bucket, then path key), so a 10,000-rule table lints in well under a second.

#include <algorithm>
#include <optional>

#include "common/string_util.h"
#include "routing/prefix_trie.h"
#include "routing/rule_index.h"
#include "routing/rule_lint_internal.h"

namespace detour {
namespace {

const MatchConfig kEmptyMatch{};

const MatchConfig& matchOf(const RuleConfig& rule) {
  return rule.match ? *rule.match : kEmptyMatch;
}

// True when every host that `b` matches, `a` matches too. Both lower-cased.
bool hostCovers(std::string_view a, std::string_view b) {
  if (!startsWith(a, "*.")) return a == b;
  std::string_view suffix = a.substr(1);
  if (startsWith(b, "*.")) return endsWith(b.substr(1), suffix);
  return b.size() > suffix.size() && endsWith(b, suffix);
}

bool hostsImply(const MatchConfig& a, const MatchConfig& b) {
  if (a.hosts.empty()) return true;
  if (b.hosts.empty()) return false;
  return std::all_of(b.hosts.begin(), b.hosts.end(), [&](const std::string& bh) {
    std::string bl = asciiLowerCopy(bh);
    return std::any_of(a.hosts.begin(), a.hosts.end(),
                       [&](const std::string& ah) { return hostCovers(asciiLowerCopy(ah), bl); });
  });
}

bool pathsImply(const MatchConfig& a, const MatchConfig& b) {
  if (a.path && b.path != a.path) return false;
  if (a.path_prefix) {
    bool by_path = b.path && startsWith(*b.path, *a.path_prefix);
    bool by_prefix = b.path_prefix && startsWith(*b.path_prefix, *a.path_prefix);
    if (!by_path && !by_prefix) return false;
  }
  return !a.path_regex || b.path_regex == a.path_regex;
}

bool sameHeaderCondition(const HeaderMatchConfig& a, const HeaderMatchConfig& b) {
  if (!equalsIgnoreCase(a.name, b.name) || a.is_regex != b.is_regex) return false;
  return a.is_regex ? a.regex == b.regex : trimOws(a.value) == trimOws(b.value);
}

// True when every request that b's match block accepts, a's accepts too.
bool matchImplies(const MatchConfig& a, const MatchConfig& b) {
  if (!hostsImply(a, b)) return false;
  if (a.scheme && b.scheme != a.scheme) return false;
  if (!pathsImply(a, b)) return false;
  if (!a.methods.empty()) {
    if (b.methods.empty()) return false;
    for (const std::string& m : b.methods) {
      if (std::find(a.methods.begin(), a.methods.end(), m) == a.methods.end()) return false;
    }
  }
  return std::all_of(a.headers.begin(), a.headers.end(), [&](const HeaderMatchConfig& ah) {
    return std::any_of(b.headers.begin(), b.headers.end(),
                       [&](const HeaderMatchConfig& bh) { return sameHeaderCondition(ah, bh); });
  });
}

bool alwaysOn(const RuleConfig& rule) {
  return rule.when.kind == WhenConfig::Kind::kNone && !rule.active.from && !rule.active.until;
}

// Rules that may shadow others, by the key a later rule must share with them.
struct ShadowBucket {
  StringMap<std::vector<uint32_t>> by_path;
  PrefixTrie by_prefix;
  StringMap<std::vector<uint32_t>> by_regex;
  std::vector<uint32_t> rest;  // no path key

  void add(const MatchConfig& m, uint32_t id) {
    if (m.path) {
      by_path[*m.path].push_back(id);
    } else if (m.path_prefix) {
      by_prefix.add(*m.path_prefix, id);
    } else if (m.path_regex) {
      by_regex[*m.path_regex].push_back(id);
    } else {
      rest.push_back(id);
    }
  }

  // Calls visit(ids) with every list that may hold a rule implying `b`.
  template <typename Visit>
  void candidates(const MatchConfig& b, Visit&& visit) const {
    auto lookup = [&](const StringMap<std::vector<uint32_t>>& map, const std::string& key) {
      auto it = map.find(key);
      if (it != map.end()) visit(std::span<const uint32_t>(it->second));
    };
    if (b.path) lookup(by_path, *b.path);
    if (b.path) by_prefix.walk(*b.path, visit);
    if (b.path_prefix) by_prefix.walk(*b.path_prefix, visit);
    if (b.path_regex) lookup(by_regex, *b.path_regex);
    visit(std::span<const uint32_t>(rest));
  }
};

class ShadowIndex {
 public:
  explicit ShadowIndex(const RuleTable& table) : table_(table) {
    for (size_t i = 0; i < table.size(); ++i) {
      const RuleConfig& rule = table.rule(i).config();
      if (!alwaysOn(rule)) continue;
      const MatchConfig& m = matchOf(rule);
      auto id = static_cast<uint32_t>(i);
      if (m.hosts.empty()) any_.add(m, id);
      for (const std::string& h : m.hosts) {
        std::string host = asciiLowerCopy(h);
        if (startsWith(host, "*.")) {
          wildcard_[host.substr(1)].add(m, id);
        } else {
          exact_[host].add(m, id);
        }
      }
    }
    any_.by_prefix.finish();
    for (auto& [key, bucket] : exact_) bucket.by_prefix.finish();
    for (auto& [key, bucket] : wildcard_) bucket.by_prefix.finish();
  }

  // The lowest-id rule before `id` that shadows it.
  std::optional<uint32_t> shadowOf(uint32_t id) const {
    const MatchConfig& b = matchOf(table_.rule(id).config());
    std::optional<uint32_t> best;
    auto visit = [&](std::span<const uint32_t> ids) {
      for (uint32_t a : ids) {
        if (a >= id || (best && a >= *best)) return;
        if (matchImplies(matchOf(table_.rule(a).config()), b)) {
          best = a;
          return;
        }
      }
    };
    any_.candidates(b, visit);
    if (!b.hosts.empty()) hostCandidates(asciiLowerCopy(b.hosts.front()), b, visit);
    return best;
  }

 private:
  // Buckets of rules whose hosts may cover `host` (a rule must cover all of b's hosts, so
  // covering the first is necessary).
  template <typename Visit>
  void hostCandidates(const std::string& host, const MatchConfig& b, Visit& visit) const {
    bool wildcard = startsWith(host, "*.");
    if (!wildcard) {
      auto it = exact_.find(host);
      if (it != exact_.end()) it->second.candidates(b, visit);
    }
    // A wildcard "*.x.com" is covered by "*.x.com" and "*.com"; a host "a.x.com" by
    // "*.x.com" and "*.com".
    std::string_view rest = wildcard ? std::string_view(host).substr(1) : std::string_view(host);
    for (size_t dot = wildcard ? 0 : rest.find('.', 1); dot != std::string_view::npos;
         dot = rest.find('.', dot + 1)) {
      auto it = wildcard_.find(rest.substr(dot));
      if (it != wildcard_.end()) it->second.candidates(b, visit);
    }
  }

  const RuleTable& table_;
  ShadowBucket any_;
  StringMap<ShadowBucket> exact_;
  StringMap<ShadowBucket> wildcard_;
};

}  // namespace

void lintShadowedRules(const RuleTable& table, Diagnostics& diags) {
  ShadowIndex index(table);
  for (size_t i = 1; i < table.size(); ++i) {
    std::optional<uint32_t> a = index.shadowOf(static_cast<uint32_t>(i));
    if (!a) continue;
    const RuleConfig& earlier = table.rule(*a).config();
    const RuleConfig& later = table.rule(i).config();
    diags.warning(table.config().file, later.pos,
                  "rule '" + later.name + "' is never reached: rule '" + earlier.name + "' (line " +
                      std::to_string(earlier.pos.line) +
                      ") matches every request it matches; move '" + later.name + "' above '" +
                      earlier.name + "' or remove it");
  }
}

}  // namespace detour
