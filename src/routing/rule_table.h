#pragma once

// The compiled rule table: an immutable object built once from a Config and shared (through
// shared_ptr) by every worker. match() returns the first rule, in file order, whose match,
// when and active conditions all hold, using indexes instead of a linear scan:
//
//   - exact `path`          -> hash map path -> ascending rule ids
//   - `path_prefix`         -> character trie; every node on the request path's walk yields ids
//   - `path_regex`          -> one RE2::Set over all regexes (anchored); hits yield ids
//   - exact `host` only     -> hash map host -> ids; `*.suffix` -> map suffix -> ids
//   - no indexable key      -> one ascending "always check" list
//
// Each rule is filed under exactly one index (the first of the list above that it has), the
// candidates from all indexes are merged in ascending id order and each is checked in full
// until one holds, so the result is exactly that of a first-match scan. match() allocates
// nothing in steady state and does no I/O; it is safe to call from many threads at once.

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/config_errors.h"
#include "routing/request_view.h"
#include "routing/runtime_state.h"

namespace detour {

class CompiledRule;
class RuleIndex;

// Regex captures and the prefix remainder of the winning rule, filled by match(). Views point
// into the RequestView's bytes.
struct MatchCaptures {
  static constexpr int kMaxGroups = 16;  // group 0 is the whole match; 1..15 are captures
  std::array<std::string_view, kMaxGroups> groups{};
  int group_count = 0;
  std::string_view path_suffix;  // the rest of the path after `path_prefix`
};

enum class ActionKind { kRedirect, kForward, kRespond };

// A compiled redirect target. Expansion never produces CR, LF, NUL, or any byte outside the
// visible ASCII range: request-derived values are percent-encoded where needed, never decoded.
class Template {
 public:
  // Compiles `text`; on error returns nullopt and sets *error to a message naming the problem
  // (unknown variable, unbalanced brace, a capture the regex lacks, {path_suffix} without
  // path_prefix). `regex` may be null when the rule has no path_regex.
  struct Context {
    bool has_path_prefix = false;
    const void* regex = nullptr;  // const re2::RE2*; used to resolve named/numbered captures
  };
  static std::optional<Template> compile(std::string_view text, const Context& ctx,
                                         std::string* error);

  // Appends the expansion to `out`.
  void expand(const RequestView& req, const MatchCaptures& caps, std::string& out) const;
  // True when the template places the query itself ({query}, {uri} or a literal '?').
  bool placesQuery() const { return places_query_; }
  // The highest capture group referenced (0 when none).
  int maxGroup() const { return max_group_; }
  const std::string& text() const { return text_; }

  struct Segment {
    enum class Kind { kLiteral, kScheme, kHost, kPort, kPath, kQuery, kUri, kPathSuffix, kGroup };
    Kind kind = Kind::kLiteral;
    std::string literal;  // for kLiteral
    int group = 0;        // for kGroup
  };

 private:
  std::string text_;
  std::vector<Segment> segments_;
  bool places_query_ = false;
  int max_group_ = 0;
};

struct CompiledRedirect {
  int code = 307;
  Template to;
  bool append_query = true;  // keep_query && !to.placesQuery()
  // Extra header lines, each ending in CRLF: "Cache-Control: no-cache\r\n", "Retry-After: 120\r\n".
  std::string extra_headers;
  std::optional<uint32_t> retry_after;
  std::optional<std::string> cache_control;  // the effective value; nullopt = none sent
};

struct CompiledForward {
  std::string pool;
  std::optional<std::string> strip_prefix;
  std::vector<std::pair<std::string, std::string>> set_headers;
};

struct CompiledRespond {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Header lines ending in CRLF, ready to write (no Content-Length, which the writer adds).
  std::string extra_headers;
};

// One rule, compiled. Immutable.
class CompiledRule {
 public:
  size_t id() const { return id_; }  // position in the file, 0-based
  const std::string& name() const { return name_; }
  ActionKind kind() const { return kind_; }
  const CompiledRedirect* redirect() const;  // null unless kind() == kRedirect
  const CompiledForward* forward() const;
  const CompiledRespond* respond() const;
  const RuleConfig& config() const { return *config_; }

  // Full check of match + when + active for one request; fills caps when it returns true.
  bool matches(const RequestView& req, const MatchContext& ctx, MatchCaptures& caps) const;

  // Builds the redirect's Location for `req` (kind() must be kRedirect): the template
  // expanded and the query appended per keep_query.
  void buildLocation(const RequestView& req, const MatchCaptures& caps, std::string& out) const;

 private:
  friend class RuleTable;
  friend class RuleIndex;
  struct Impl;
  size_t id_ = 0;
  std::string name_;
  ActionKind kind_ = ActionKind::kRespond;
  const RuleConfig* config_ = nullptr;  // owned by the RuleTable's Config copy
  std::shared_ptr<const Impl> impl_;
};

class RuleTable {
 public:
  ~RuleTable();
  RuleTable(const RuleTable&) = delete;
  RuleTable& operator=(const RuleTable&) = delete;

  // Compiles `config` (copied into the table). Flag and pool cells are taken from `state`
  // (created when new). Errors (bad template variables, captures the regex lacks, ...) are
  // appended to `diags` at the offending key; returns null when there was any error.
  // Call from any one thread; the result is immutable and thread-safe.
  static std::shared_ptr<const RuleTable> compile(const Config& config, RuntimeState& state,
                                                  Diagnostics& diags);

  // The first matching rule, or null when none matches. `caps` receives captures of the
  // winner. Thread-safe, allocation-free in steady state.
  const CompiledRule* match(const RequestView& req, const MatchContext& ctx,
                            MatchCaptures& caps) const;
  // The same answer by a plain first-match scan; for tests and fuzzers.
  const CompiledRule* matchLinearForTest(const RequestView& req, const MatchContext& ctx,
                                         MatchCaptures& caps) const;

  size_t size() const { return rules_.size(); }
  const CompiledRule& rule(size_t id) const { return rules_[id]; }
  const CompiledRule* findRule(std::string_view name) const;
  const Config& config() const { return *config_; }

 private:
  RuleTable() = default;
  std::unique_ptr<Config> config_;
  std::vector<CompiledRule> rules_;
  std::unique_ptr<RuleIndex> index_;
};

// Lints a compiled table (contract §3 "Validation" warnings), appending to `diags`:
//   - a 301/302 redirect that can match POST, PUT, PATCH or DELETE (use 307/308);
//   - a rule that an earlier rule always shadows;
//   - a rule whose active.until is before `now`;
//   - a redirect whose target, expanded for a request its rule matches, matches the same rule.
// Pure; thread-safe.
void lintRules(const RuleTable& table, EpochMillis now, Diagnostics& diags);

}  // namespace detour
