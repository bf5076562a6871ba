#pragma once

// Internal to src/routing: the indexes behind RuleTable::match() (layout in rule_table.h).
// Every rule is filed under one key per host bucket it belongs to; a lookup gathers the id
// lists every index yields for the request (each ascending), and the merge visits their
// union in ascending id order, checking each rule in full until one holds. Because a rule
// that can match a request is always in one of the gathered lists, the winner is the lowest
// matching id: exactly the first-match scan.

#include <re2/re2.h>
#include <re2/set.h>

#include <array>
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

// Methods split every candidate list, so that rules limited to other methods (say 1,000
// `methods: [POST]` rules on one path) cost a GET nothing. A request's method falls in one
// class; a rule is filed under every class its `methods:` can match (all without `methods:`).
constexpr size_t kMethodClasses = 8;  // GET HEAD POST PUT DELETE PATCH OPTIONS, other
using MethodMask = uint8_t;
size_t methodClass(std::string_view method);
MethodMask methodMask(const MatchConfig* match);

// Ascending id lists, one per method class, in one array.
class ClassLists {
 public:
  void add(uint32_t id, MethodMask mask);  // build phase; ids ascending
  void finish();
  std::span<const uint32_t> get(size_t cls) const {
    return std::span<const uint32_t>(ids_.data() + start_[cls], start_[cls + 1] - start_[cls]);
  }
  bool empty() const { return ids_.empty() && build_.empty(); }

 private:
  std::vector<std::pair<uint32_t, MethodMask>> build_;
  std::vector<uint32_t> ids_;
  std::array<uint32_t, kMethodClasses + 1> start_{};
};

// The path level of the index: rules of one host bucket, by path, prefix, regex or none.
class PathIndex {
 public:
  // Build phase: files rule `id` (ids ascending) under the first of path, path_prefix and
  // path_regex that `match` has; `match` may be null (no match block).
  void add(const MatchConfig* match, uint32_t id);
  // Ends the build phase: compiles the regex set. False with *error if RE2 refuses it, and
  // *failed_id set to one of the rules whose regex went into it.
  bool finish(std::string* error, uint32_t* failed_id);
  size_t regexCount() const { return regex_ids_.size(); }

  // Appends to scratch.lists the candidate lists for `path` and method class `cls`. Regex
  // hits go to scratch.regex_ids, whose capacity the caller reserved for every regex of the
  // table.
  void collect(std::string_view path, size_t cls, MatchScratch& scratch) const;

 private:
  void collectRegexHits(std::string_view path, size_t cls, MatchScratch& scratch) const;

  StringMap<ClassLists> exact_;
  std::array<PrefixTrie, kMethodClasses> prefixes_;
  std::vector<std::string> regex_patterns_;  // build phase only
  std::vector<uint32_t> regex_ids_;          // regex index -> rule id (ascending)
  std::vector<MethodMask> regex_masks_;      // regex index -> the rule's method classes
  // A few regexes are tried one by one (a DFA pass each, allocation-free); more go into one
  // RE2::Set, whose Match allocates a set-sized bitmap on every hit (RE2 internals).
  std::vector<std::unique_ptr<re2::RE2>> small_regexes_;
  std::unique_ptr<re2::RE2::Set> regex_set_;
  ClassLists others_;  // no path key: always candidates in this bucket
};

class RuleIndex {
 public:
  // Indexes `rules` (ids 0..n-1 in order). Returns null with *error set when a regex set
  // cannot be compiled, and *failed_id to a rule whose regex is in it. The rules must outlive the index.
  static std::unique_ptr<RuleIndex> build(const std::vector<CompiledRule>& rules,
                                          std::string* error, uint32_t* failed_id);

  // The lowest-id rule of `rules` that matches, as CompiledRule::matches decides; null when
  // none. Adds the number of full checks to *checks when not null. Thread-safe.
  const CompiledRule* match(const std::vector<CompiledRule>& rules, const RequestView& req,
                            const MatchContext& ctx, MatchCaptures& caps, size_t* checks) const;

 private:
  void file(const CompiledRule& rule);
  void collect(std::string_view host, std::string_view path, size_t cls,
               MatchScratch& scratch) const;

  PathIndex any_host_;                      // rules without a host condition
  StringMap<PathIndex> exact_hosts_;        // "shop.example.com" -> bucket
  StringMap<PathIndex> wildcard_suffixes_;  // ".example.com" (from *.example.com) -> bucket
  size_t regex_entries_ = 0;                // regexes over all buckets
};

}  // namespace detour
