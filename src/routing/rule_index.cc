#include "routing/rule_index.h"

#include <algorithm>
#include <set>

#include "common/string_util.h"
#include "routing/compiled_rule_impl.h"

namespace detour {
namespace {

// The set's DFA needs more room than one regex's: with thousands of patterns the default
// budget (8 MiB) runs out. When it still does, collect() falls back to every regex rule.
constexpr int64_t kRegexSetMaxMem = int64_t{64} << 20;

// Up to this many regexes in a bucket are matched one by one rather than through a set.
constexpr size_t kMaxSmallRegexes = 8;

re2::StringPiece piece(std::string_view s) { return re2::StringPiece(s.data(), s.size()); }

bool hasUpper(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

constexpr MethodMask kAllMethods = 0xFF;

}  // namespace

size_t methodClass(std::string_view method) {
  static constexpr std::string_view kNames[kMethodClasses - 1] = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
  for (size_t i = 0; i < kMethodClasses - 1; ++i) {
    if (method == kNames[i]) return i;
  }
  return kMethodClasses - 1;
}

MethodMask methodMask(const MatchConfig* match) {
  if (match == nullptr || match->methods.empty()) return kAllMethods;
  MethodMask mask = 0;
  for (const std::string& m : match->methods) mask |= MethodMask(1u << methodClass(m));
  return mask;
}

void ClassLists::add(uint32_t id, MethodMask mask) {
  if (build_.empty() || build_.back().first != id) build_.emplace_back(id, mask);
}

void ClassLists::finish() {
  ids_.clear();
  for (size_t cls = 0; cls < kMethodClasses; ++cls) {
    start_[cls] = static_cast<uint32_t>(ids_.size());
    for (const auto& [id, mask] : build_) {
      if (mask & (1u << cls)) ids_.push_back(id);
    }
  }
  start_[kMethodClasses] = static_cast<uint32_t>(ids_.size());
  ids_.shrink_to_fit();
  build_.clear();
  build_.shrink_to_fit();
}

void PathIndex::add(const MatchConfig* match, uint32_t id) {
  MethodMask mask = methodMask(match);
  if (match != nullptr && match->path) {
    exact_[*match->path].add(id, mask);
  } else if (match != nullptr && match->path_prefix) {
    for (size_t cls = 0; cls < kMethodClasses; ++cls) {
      if (mask & (1u << cls)) prefixes_[cls].add(*match->path_prefix, id);
    }
  } else if (match != nullptr && match->path_regex) {
    if (regex_ids_.empty() || regex_ids_.back() != id) {
      regex_patterns_.push_back(*match->path_regex);
      regex_ids_.push_back(id);
      regex_masks_.push_back(mask);
    }
  } else {
    others_.add(id, mask);
  }
}

bool PathIndex::finish(std::string* error, uint32_t* failed_id) {
  for (PrefixTrie& trie : prefixes_) trie.finish();
  for (auto& [path, lists] : exact_) lists.finish();
  others_.finish();
  if (regex_patterns_.empty()) return true;
  if (regex_patterns_.size() <= kMaxSmallRegexes) {
    for (size_t i = 0; i < regex_patterns_.size(); ++i) {
      small_regexes_.push_back(std::make_unique<re2::RE2>(regex_patterns_[i], ruleRegexOptions()));
      if (!small_regexes_.back()->ok()) {
        *error = small_regexes_.back()->error();
        *failed_id = regex_ids_[i];
        return false;
      }
    }
  } else {
    re2::RE2::Options options = ruleRegexOptions();
    options.set_max_mem(kRegexSetMaxMem);
    regex_set_ = std::make_unique<re2::RE2::Set>(options, re2::RE2::ANCHOR_BOTH);
    for (size_t i = 0; i < regex_patterns_.size(); ++i) {
      if (regex_set_->Add(regex_patterns_[i], error) < 0) {
        *failed_id = regex_ids_[i];
        return false;
      }
    }
    if (!regex_set_->Compile()) {
      *error = "together, this bucket's " + std::to_string(regex_patterns_.size()) +
               " path_regex patterns pass RE2's memory budget; simplify the largest (bounded "
               "repetitions like {1000} cost the most) or use path_prefix";
      *failed_id = regex_ids_.back();
      return false;
    }
  }
  regex_patterns_.clear();
  regex_patterns_.shrink_to_fit();
  return true;
}

void PathIndex::collect(std::string_view path, size_t cls, MatchScratch& scratch) const {
  if (!exact_.empty()) {
    auto it = exact_.find(path);
    if (it != exact_.end()) {
      std::span<const uint32_t> ids = it->second.get(cls);
      if (!ids.empty()) scratch.lists.push_back(ids);
    }
  }
  prefixes_[cls].walk(path, [&](std::span<const uint32_t> ids) { scratch.lists.push_back(ids); });
  if (!regex_ids_.empty()) collectRegexHits(path, cls, scratch);
  std::span<const uint32_t> others = others_.get(cls);
  if (!others.empty()) scratch.lists.push_back(others);
}

void PathIndex::collectRegexHits(std::string_view path, size_t cls, MatchScratch& scratch) const {
  size_t start = scratch.regex_ids.size();
  const unsigned bit = 1u << cls;
  if (!small_regexes_.empty()) {
    for (size_t i = 0; i < small_regexes_.size(); ++i) {
      if ((regex_masks_[i] & bit) &&
          small_regexes_[i]->Match(piece(path), 0, path.size(), re2::RE2::ANCHOR_BOTH, nullptr,
                                   0)) {
        scratch.regex_ids.push_back(regex_ids_[i]);
      }
    }
  } else {
    // A first pass without the hit list stops at the first match and allocates nothing, so
    // requests that no regex matches (the usual case) never pay for the list.
    re2::RE2::Set::ErrorInfo info{re2::RE2::Set::kNoError};
    if (!regex_set_->Match(piece(path), nullptr, &info)) {
      if (info.kind != re2::RE2::Set::kNoError) scratch.lists.emplace_back(regex_ids_);
      return;  // no hit, or the DFA ran out of memory: then every regex rule is a candidate
    }
    if (!regex_set_->Match(piece(path), &scratch.set_hits, &info)) {
      scratch.lists.emplace_back(regex_ids_);
      return;
    }
    std::sort(scratch.set_hits.begin(), scratch.set_hits.end());
    for (int h : scratch.set_hits) {
      if (regex_masks_[h] & bit) scratch.regex_ids.push_back(regex_ids_[h]);
    }
  }
  size_t count = scratch.regex_ids.size() - start;
  if (count > 0) scratch.lists.emplace_back(scratch.regex_ids.data() + start, count);
}

std::unique_ptr<RuleIndex> RuleIndex::build(const std::vector<CompiledRule>& rules,
                                            std::string* error, uint32_t* failed_id) {
  auto index = std::make_unique<RuleIndex>();
  for (const CompiledRule& rule : rules) index->file(rule);
  auto finish = [&](PathIndex& bucket) {
    index->regex_entries_ += bucket.regexCount();
    return bucket.finish(error, failed_id);
  };
  if (!finish(index->any_host_)) return nullptr;
  for (auto& [host, bucket] : index->exact_hosts_) {
    if (!finish(bucket)) return nullptr;
  }
  for (auto& [suffix, bucket] : index->wildcard_suffixes_) {
    if (!finish(bucket)) return nullptr;
  }
  return index;
}

void RuleIndex::file(const CompiledRule& rule) {
  const std::optional<MatchConfig>& match = rule.config().match;
  auto id = static_cast<uint32_t>(rule.id());
  const MatchConfig* m = match ? &*match : nullptr;
  if (m == nullptr || m->hosts.empty()) {
    any_host_.add(m, id);
    return;
  }
  std::set<std::string> seen;  // a host listed twice files the rule once
  for (const std::string& written : m->hosts) {
    std::string host = asciiLowerCopy(written);
    if (!seen.insert(host).second) continue;
    if (startsWith(host, "*.")) {
      wildcard_suffixes_[host.substr(1)].add(m, id);
    } else {
      exact_hosts_[host].add(m, id);
    }
  }
}

void RuleIndex::collect(std::string_view host, std::string_view path, size_t cls,
                        MatchScratch& scratch) const {
  if (!host.empty() && !exact_hosts_.empty()) {
    auto it = exact_hosts_.find(host);
    if (it != exact_hosts_.end()) it->second.collect(path, cls, scratch);
  }
  if (!host.empty() && !wildcard_suffixes_.empty()) {
    // `*.example.com` needs at least one byte before ".example.com": start at offset 1.
    for (size_t dot = host.find('.', 1); dot != std::string_view::npos;
         dot = host.find('.', dot + 1)) {
      auto it = wildcard_suffixes_.find(host.substr(dot));
      if (it != wildcard_suffixes_.end()) it->second.collect(path, cls, scratch);
    }
  }
  any_host_.collect(path, cls, scratch);
}

const CompiledRule* RuleIndex::match(const std::vector<CompiledRule>& rules, const RequestView& req,
                                     const MatchContext& ctx, MatchCaptures& caps,
                                     size_t* checks) const {
  thread_local MatchScratch scratch;
  scratch.lists.clear();
  scratch.regex_ids.clear();
  if (scratch.regex_ids.capacity() < regex_entries_) scratch.regex_ids.reserve(regex_entries_);
  std::string_view host = req.host;
  if (hasUpper(host)) {
    scratch.host.assign(host);
    asciiLowerInPlace(scratch.host);
    host = scratch.host;
  }
  collect(host, req.path, methodClass(req.method), scratch);

  // k-way merge of ascending lists; k is small (a few buckets, the prefixes on the path).
  uint32_t last = UINT32_MAX;
  while (true) {
    uint32_t best = UINT32_MAX;
    for (const auto& list : scratch.lists) {
      if (!list.empty() && list.front() < best) best = list.front();
    }
    if (best == UINT32_MAX) return nullptr;
    for (auto& list : scratch.lists) {
      if (!list.empty() && list.front() == best) list = list.subspan(1);
    }
    if (best == last) continue;
    last = best;
    if (checks != nullptr) ++*checks;
    if (rules[best].matches(req, ctx, caps)) return &rules[best];
  }
}

}  // namespace detour
