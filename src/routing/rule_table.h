#pragma once

// The compiled rule table: an immutable object built once from a Config and shared (through
// shared_ptr) by every worker. match() returns the first rule, in file order, whose match,
// when and active conditions all hold, using indexes instead of a linear scan.
//
// Order and specificity: there is none beyond file order. The first rule (lowest id) whose
// conditions all hold wins, however specific a later rule is. The indexes only narrow the set
// of rules worth checking; they never change the answer (matchLinearForTest() is the
// reference, and the tests compare both on random tables).
//
// Index layout (rule_index.h): first by host, then by path.
//   - host level: exact host -> a path index; `*.suffix` -> a path index per suffix; rules
//     without a host condition -> the "any host" path index. A rule with several hosts is
//     filed under each of them.
//   - path level, inside each host bucket, the first key the rule has:
//       exact `path`   -> hash map path -> ascending rule ids
//       `path_prefix`  -> character trie; every node on the request path's walk yields ids
//       `path_regex`   -> one RE2::Set over the bucket's regexes (anchored at both ends);
//                         up to 8 are tried one by one instead, which allocates nothing
//       none of these  -> one ascending "always check" list
// The candidates from every bucket the request reaches are merged in ascending id order and
// each is checked in full until one holds, so the result is exactly that of a first-match
// scan. match() allocates nothing of its own in steady state (thread_local scratch; RE2
// itself may allocate inside RE2::Set::Match and submatch extraction) and does no I/O; it is
// safe to call from many threads at once.

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "config/config_errors.h"
#include "routing/request_view.h"
#include "routing/runtime_state.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace detour {

class CompiledRule;
class RuleIndex;
struct CompiledRuleImpl;  // internal; defined in routing/compiled_rule_impl.h

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
//
// Variables: {scheme} (http|https), {host}, {port}, {path}, {query} ("?a=1" or ""), {uri}
// (path and query), {path_suffix} (the path after the rule's path_prefix), {N} (regex capture
// N, 1..15; {0} is the whole match) and {name} (a named capture of the rule's path_regex).
// Bytes that are not allowed in a URI (CTLs, space, `"`, `<`, `>`, `\`, `^`, backtick, `{`,
// `|`, `}`, DEL, >= 0x80) are written as %XX, in values and literal text alike; a '%' that
// starts a valid escape is kept, so "%0D%0A" stays, and any other '%' is %25.
// The scheme and the authority ("//host") of a Location come only from the template's text
// before its first request value: a value's ':' in the first segment of a relative Location
// is %3A, and a value's slash that would begin "//" there (or right after a literal scheme)
// is %2F, so "/{path_suffix}" for "/evil.com" gives "/%2Fevil.com", never "//evil.com".
class Template {
 public:
  struct Context {
    bool has_path_prefix = false;
    const re2::RE2* regex = nullptr;  // the rule's path_regex; resolves {N} and {name}
    std::string_view key = "to";      // the config key, named in error messages
  };
  // Compiles `text`. On error returns nullopt and sets *error (not null) to a message naming
  // the problem: an unknown variable (with a did-you-mean and the list of variables), an
  // unbalanced '{' or '}', an empty '{}', a capture the regex lacks or beyond group 15, or
  // {path_suffix} without path_prefix, or a leading http:, https: or {scheme}: without '//'.
  // `ctx.regex` may be null when the rule has no path_regex; it is only read during the call.
  static std::optional<Template> compile(std::string_view text, const Context& ctx,
                                         std::string* error);

  // Appends the expansion for `req` and `caps` to `out`. Pure; thread-safe.
  void expand(const RequestView& req, const MatchCaptures& caps, std::string& out) const;
  // True when the template places the query itself ({query}, {uri} or a literal '?').
  bool placesQuery() const { return places_query_; }
  // True when the template uses {host} (the request's Host: client-controlled).
  bool usesHost() const { return uses_host_; }
  // The highest capture group referenced (0 when none).
  int maxGroup() const { return max_group_; }
  // How many submatches (group 0 included) a match must extract to expand this template:
  // maxGroup() + 1 when any capture is referenced, else 0.
  int submatchCount() const { return uses_groups_ ? max_group_ + 1 : 0; }
  const std::string& text() const { return text_; }

  struct Segment {
    enum class Kind { kLiteral, kScheme, kHost, kPort, kPath, kQuery, kUri, kPathSuffix, kGroup };
    Kind kind = Kind::kLiteral;
    std::string literal;  // for kLiteral: already percent-encoded
    int group = 0;        // for kGroup
  };

 private:
  std::string text_;
  std::vector<Segment> segments_;
  bool places_query_ = false;
  bool uses_groups_ = false;
  bool uses_host_ = false;
  int max_group_ = 0;
};

// Appends `value` to `out`, percent-encoding (%XX, upper-case hex) every byte that is not
// allowed in a URI (see Template); a '%' is kept when two hex digits follow it (a valid escape
// is never decoded nor encoded twice) and is %25 otherwise. Pure; thread-safe.
void appendUriSafe(std::string& out, std::string_view value);

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

// One rule, compiled. Immutable; owned by its RuleTable and valid as long as the table is.
class CompiledRule {
 public:
  size_t id() const { return id_; }  // position in the file, 0-based
  const std::string& name() const { return name_; }
  ActionKind kind() const { return kind_; }
  const CompiledRedirect* redirect() const;  // null unless kind() == kRedirect
  const CompiledForward* forward() const;    // null unless kind() == kForward
  const CompiledRespond* respond() const;    // null unless kind() == kRespond
  const RuleConfig& config() const { return *config_; }

  // Full check of match + when + active for one request; fills caps when it returns true
  // (caps is unspecified when it returns false). Thread-safe.
  bool matches(const RequestView& req, const MatchContext& ctx, MatchCaptures& caps) const;
  // The match block alone, ignoring when and active (for lint and explain tools).
  bool matchesRequest(const RequestView& req, MatchCaptures& caps) const;
  // True when `now` is inside the rule's active window (from <= now < until).
  bool activeAt(EpochMillis now) const;

  // True when the rule's match has a host condition (so {host} was checked by it).
  bool hostChecked() const;

  // Builds the redirect's Location for `req` (kind() must be kRedirect): the template
  // expanded and the query appended per keep_query. Appends to `out`.
  void buildLocation(const RequestView& req, const MatchCaptures& caps, std::string& out) const;

 private:
  friend class RuleTable;
  size_t id_ = 0;
  std::string name_;
  ActionKind kind_ = ActionKind::kRespond;
  const RuleConfig* config_ = nullptr;  // owned by the RuleTable's Config copy
  std::shared_ptr<const CompiledRuleImpl> impl_;
};

class RuleTable {
 public:
  ~RuleTable();
  RuleTable(const RuleTable&) = delete;
  RuleTable& operator=(const RuleTable&) = delete;

  // Compiles `config` (copied into the table). Errors (bad template variables, captures the
  // regex lacks, a bad regex, an unknown flag or pool in `when`, ...) are appended to `diags`
  // at the offending key, using config.file; returns null when this call added any error.
  // Only when it succeeds does it touch `state`: it takes a cell for every flag of the config
  // (initial value FlagConfig::default_value; env overrides are the caller's business) and
  // every pool, so a config that fails to compile changes no runtime value. `state` must
  // outlive the table. Call from any one thread; the result is immutable and thread-safe.
  static std::shared_ptr<const RuleTable> compile(const Config& config, RuntimeState& state,
                                                  Diagnostics& diags);

  // The first matching rule (lowest id whose match, when and active hold), or null when none
  // matches. `req` is only read during the call; `caps` receives the winner's captures, as
  // views into req.path. The returned rule lives as long as the table. Thread-safe;
  // allocation-free in steady state (see the file comment for RE2's own allocations).
  const CompiledRule* match(const RequestView& req, const MatchContext& ctx,
                            MatchCaptures& caps) const;
  // The same answer by a plain first-match scan; for tests and fuzzers.
  const CompiledRule* matchLinearForTest(const RequestView& req, const MatchContext& ctx,
                                         MatchCaptures& caps) const;
  // match(), also reporting in *checks how many rules were checked in full (the candidates
  // the indexes produced before one held, plus the winner). For tests that pin the index.
  const CompiledRule* matchCountingForTest(const RequestView& req, const MatchContext& ctx,
                                           MatchCaptures& caps, size_t* checks) const;

  size_t size() const { return rules_.size(); }
  const CompiledRule& rule(size_t id) const { return rules_[id]; }
  const CompiledRule* findRule(std::string_view name) const;
  const Config& config() const { return *config_; }

  // True when `host` is one of server.hosts (exact, or "*.suffix" for one or more labels).
  bool servesHost(std::string_view host) const;
  // Whether a redirect by `rule` may put `host` into its Location: always, unless the template
  // uses {host}, the rule has no host condition and server.hosts is set without `host` in it
  // (detour then answers 421 Misdirected Request instead of redirecting to a forged Host).
  bool redirectHostAllowed(const CompiledRule& rule, std::string_view host) const;

 private:
  RuleTable() = default;
  std::unique_ptr<Config> config_;
  std::vector<CompiledRule> rules_;
  std::unique_ptr<RuleIndex> index_;
  std::unordered_map<std::string_view, size_t> by_name_;  // first rule of each name
};

// Lints a compiled table (contract §3 "Validation" warnings), appending warnings to `diags`
// (file: table.config().file), each naming the rule(s) and the fix:
//   - a 301/302 redirect that can match POST, PUT, PATCH or DELETE (use 307/308), at `code`;
//   - a rule that an earlier rule without `when`/`active` always shadows, at the later rule.
//     Conservative: only reported when the earlier match is implied key by key (no match
//     block; hosts covering; same scheme; same path; a prefix of the path or prefix; the same
//     regex text; a superset of methods; the same header conditions);
//   - a rule whose active.until is not after `now` (it exists only while now < until), at
//     `until`;
//   - a redirect loop: a sample request built from the rule's match (rules that only have a
//     path_regex or regex headers are skipped) is redirected to a URL the same rule matches
//     again (when/active ignored; a 303 is followed with GET; a target on another host is
//     not a loop unless the rule's host condition covers it), at `to`.
// Pure; thread-safe.
void lintRules(const RuleTable& table, EpochMillis now, Diagnostics& diags);

}  // namespace detour
