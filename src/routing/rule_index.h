#pragma once

// Internal to src/routing: the indexes behind RuleTable::match() (layout in rule_table.h).
// Every rule is filed under one key per host bucket it belongs to; a lookup gathers the id
// lists every index yields for the request (each ascending), and the merge visits their
// union in ascending id order, checking each rule in full until one holds. Because a rule
// that can match a request is always in one of the gathered lists, the winner is the lowest
// matching id: exactly the first-match scan.

#include <re2/re2.h>
#include <re2/set.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "routing/prefix_trie.h"
#include "routing/rule_table.h"

namespace detour {

// Per-thread buffers reused by every match() on the thread, so matching allocates only until
// they reached their high-water mark.
struct MatchScratch {
  std::vector<std::span<const uint32_t>> lists;  // candidate id lists, each ascending
  std::vector<int> set_hits;                     // RE2::Set::Match output
  std::vector<uint32_t> regex_ids;               // regex hits translated to rule ids
  std::string host;                              // the request host, lower-cased when needed
};

struct TransparentStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <typename V>
using StringMap = std::unordered_map<std::string, V, TransparentStringHash, std::equal_to<>>;

// The path level of the index: rules of one host bucket, by path, prefix, regex or none.
class PathIndex {
 public:
  // Build phase: files rule `id` (ids ascending) under the first of path, path_prefix and
  // path_regex that `match` has; `match` may be null (no match block).
  void add(const MatchConfig* match, uint32_t id);
  // Ends the build phase: compiles the regex set. False with *error if RE2 refuses it.
  bool finish(std::string* error);
  size_t regexCount() const { return regex_ids_.size(); }

  // Appends to scratch.lists the candidate lists for `path`. Regex hits go to
  // scratch.regex_ids, whose capacity the caller reserved for every regex of the table.
  void collect(std::string_view path, MatchScratch& scratch) const;

 private:
  void collectRegexHits(std::string_view path, MatchScratch& scratch) const;

  StringMap<std::vector<uint32_t>> exact_;
  PrefixTrie prefixes_;
  std::vector<std::string> regex_patterns_;  // build phase only
  std::vector<uint32_t> regex_ids_;          // regex index -> rule id (ascending)
  // A few regexes are tried one by one (a DFA pass each, allocation-free); more go into one
  // RE2::Set, whose Match allocates a set-sized bitmap on every hit (RE2 internals).
  std::vector<std::unique_ptr<re2::RE2>> small_regexes_;
  std::unique_ptr<re2::RE2::Set> regex_set_;
  std::vector<uint32_t> others_;  // no path key: always candidates in this bucket
};

class RuleIndex {
 public:
  // Indexes `rules` (ids 0..n-1 in order). Returns null with *error set when a regex set
  // cannot be compiled. The rules must outlive the index.
  static std::unique_ptr<RuleIndex> build(const std::vector<CompiledRule>& rules,
                                          std::string* error);

  // The lowest-id rule of `rules` that matches, as CompiledRule::matches decides; null when
  // none. Adds the number of full checks to *checks when not null. Thread-safe.
  const CompiledRule* match(const std::vector<CompiledRule>& rules, const RequestView& req,
                            const MatchContext& ctx, MatchCaptures& caps, size_t* checks) const;

 private:
  void file(const CompiledRule& rule);
  void collect(std::string_view host, std::string_view path, MatchScratch& scratch) const;

  PathIndex any_host_;                      // rules without a host condition
  StringMap<PathIndex> exact_hosts_;        // "shop.example.com" -> bucket
  StringMap<PathIndex> wildcard_suffixes_;  // ".example.com" (from *.example.com) -> bucket
  size_t regex_entries_ = 0;                // regexes over all buckets
};

}  // namespace detour
