// One rule: compiling its config into conditions and an action, and checking a request.

#include <re2/re2.h>

#include <algorithm>
#include <array>

#include "common/string_util.h"
#include "routing/compiled_rule_impl.h"

namespace detour {
namespace {

re2::StringPiece piece(std::string_view s) { return re2::StringPiece(s.data(), s.size()); }

bool fullMatch(const re2::RE2& re, std::string_view text) {
  return re.Match(piece(text), 0, text.size(), re2::RE2::ANCHOR_BOTH, nullptr, 0);
}

bool hasControlBytes(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto b = static_cast<unsigned char>(c);
    return (b < 0x20 && b != '\t') || b == 0x7F;
  });
}

// Compile state for one rule: where errors go and what they are prefixed with.
class RuleCompiler {
 public:
  RuleCompiler(const RuleConfig& rule, const Config& config, Diagnostics& diags)
      : rule_(rule), config_(config), diags_(diags) {}

  std::shared_ptr<CompiledRuleImpl> compile();

 private:
  void error(Pos pos, const std::string& message) {
    if (pos.line == 0) pos = rule_.pos;
    diags_.error(config_.file, pos, "rule '" + rule_.name + "': " + message);
    failed_ = true;
  }
  std::unique_ptr<re2::RE2> compileRegex(const std::string& pattern, Pos pos,
                                         std::string_view what);
  void compileMatch(const MatchConfig& m);
  void compileHosts(const MatchConfig& m);
  void compileWhen();
  void compileRedirect(const RedirectAction& a);
  void compileForward(const ForwardAction& a);
  void compileRespond(const RespondAction& a);
  void checkHeaderLine(std::string_view name, std::string_view value, Pos pos);

  const RuleConfig& rule_;
  const Config& config_;
  Diagnostics& diags_;
  std::shared_ptr<CompiledRuleImpl> impl_ = std::make_shared<CompiledRuleImpl>();
  bool failed_ = false;
};

std::shared_ptr<CompiledRuleImpl> RuleCompiler::compile() {
  if (rule_.match) compileMatch(*rule_.match);
  compileWhen();
  impl_->from = rule_.active.from;
  impl_->until = rule_.active.until;
  std::visit(
      [this](const auto& action) {
        using T = std::decay_t<decltype(action)>;
        if constexpr (std::is_same_v<T, RedirectAction>) compileRedirect(action);
        if constexpr (std::is_same_v<T, ForwardAction>) compileForward(action);
        if constexpr (std::is_same_v<T, RespondAction>) compileRespond(action);
      },
      rule_.action);
  return failed_ ? nullptr : impl_;
}

std::unique_ptr<re2::RE2> RuleCompiler::compileRegex(const std::string& pattern, Pos pos,
                                                     std::string_view what) {
  auto re = std::make_unique<re2::RE2>(pattern, ruleRegexOptions());
  if (!re->ok()) {
    error(pos, "bad " + std::string(what) + " '" + pattern + "': " + re->error());
    return nullptr;
  }
  return re;
}

void RuleCompiler::compileHosts(const MatchConfig& m) {
  for (const std::string& written : m.hosts) {
    std::string host = asciiLowerCopy(written);
    if (startsWith(host, "*.") && host.size() > 2) {
      impl_->wildcard_suffixes.push_back(host.substr(1));
    } else if (host.empty() || host.find('*') != std::string::npos) {
      error(m.pos, "bad host '" + written + "'; write 'shop.example.com' or '*.example.com'");
    } else {
      impl_->exact_hosts.push_back(std::move(host));
    }
  }
}

void RuleCompiler::compileMatch(const MatchConfig& m) {
  compileHosts(m);
  impl_->scheme = m.scheme;
  impl_->path = m.path;
  impl_->path_prefix = m.path_prefix;
  if (m.path_regex) impl_->path_regex = compileRegex(*m.path_regex, m.pos, "path_regex");
  impl_->methods = m.methods;
  for (const HeaderMatchConfig& h : m.headers) {
    HeaderCondition cond;
    cond.name = asciiLowerCopy(h.name);
    if (h.is_regex) {
      cond.regex = compileRegex(h.regex, h.pos, "regex for header '" + h.name + "'");
    } else {
      cond.value = std::string(trimOws(h.value));
    }
    impl_->headers.push_back(std::move(cond));
  }
}

void RuleCompiler::compileWhen() {
  const WhenConfig& when = rule_.when;
  impl_->when_kind = when.kind;
  impl_->when_name = when.name;
  bool is_flag = when.kind == WhenConfig::Kind::kFlag || when.kind == WhenConfig::Kind::kNotFlag;
  if (is_flag && config_.findFlag(when.name) == nullptr) {
    error(when.pos, "unknown flag '" + when.name + "' in 'when'; declare it under 'flags:'");
  }
  if (when.kind == WhenConfig::Kind::kPoolDown && config_.findPool(when.name) == nullptr) {
    error(when.pos, "unknown pool '" + when.name + "' in 'when'; declare it under 'pools:'");
  }
}

void RuleCompiler::compileRedirect(const RedirectAction& a) {
  static constexpr int kCodes[] = {301, 302, 303, 307, 308};
  if (std::find(std::begin(kCodes), std::end(kCodes), a.code) == std::end(kCodes)) {
    error(a.code_pos,
          "redirect code " + std::to_string(a.code) + " is not one of 301, 302, 303, 307, 308");
  }
  Template::Context ctx;
  ctx.has_path_prefix = rule_.match && rule_.match->path_prefix.has_value();
  ctx.regex = impl_->path_regex.get();
  bool regex_failed = rule_.match && rule_.match->path_regex && ctx.regex == nullptr;
  std::string message;
  std::optional<Template> to = Template::compile(a.to, ctx, &message);
  if (a.to.empty()) {
    error(a.to_pos, "'to' is empty; give the target URL or path");
  } else if (!to && !regex_failed) {
    error(a.to_pos, message);
  }
  CompiledRedirect r;
  r.code = a.code;
  if (to) r.to = std::move(*to);
  r.append_query = a.keep_query && !r.to.placesQuery();
  r.retry_after = a.retry_after;
  if (a.cache_control) {
    if (!a.cache_control->empty()) r.cache_control = a.cache_control;
  } else if (a.code == 302 || a.code == 303 || a.code == 307) {
    r.cache_control = "no-cache";
  }
  if (r.cache_control) {
    checkHeaderLine("Cache-Control", *r.cache_control, a.to_pos);
    r.extra_headers += "Cache-Control: " + *r.cache_control + "\r\n";
  }
  if (r.retry_after) r.extra_headers += "Retry-After: " + std::to_string(*r.retry_after) + "\r\n";
  impl_->submatches = r.to.submatchCount();
  impl_->action = std::move(r);
}

void RuleCompiler::compileForward(const ForwardAction& a) {
  if (config_.findPool(a.pool) == nullptr) {
    error(a.pool_pos, "unknown pool '" + a.pool + "'; declare it under 'pools:'");
  }
  for (const auto& [name, value] : a.set_headers) checkHeaderLine(name, value, a.pool_pos);
  impl_->action = CompiledForward{a.pool, a.strip_prefix, a.set_headers};
}

void RuleCompiler::compileRespond(const RespondAction& a) {
  CompiledRespond r;
  r.status = a.status;
  r.body = a.body;
  r.headers = a.headers;
  bool has_content_type = false;
  for (const auto& [name, value] : a.headers) {
    checkHeaderLine(name, value, a.status_pos);
    has_content_type = has_content_type || equalsIgnoreCase(name, "content-type");
    r.extra_headers += name + ": " + value + "\r\n";
  }
  if (!r.body.empty() && !has_content_type) {
    r.extra_headers += "Content-Type: text/plain; charset=utf-8\r\n";
  }
  impl_->action = std::move(r);
}

// Header lines are written to the wire as they are: a CR or LF here would split the response.
void RuleCompiler::checkHeaderLine(std::string_view name, std::string_view value, Pos pos) {
  if (name.empty() || hasControlBytes(name) || hasControlBytes(value) ||
      name.find_first_of(" :") != std::string_view::npos) {
    error(pos, "header '" + std::string(name) + "' has a bad name or a control character");
  }
}

}  // namespace

re2::RE2::Options ruleRegexOptions() {
  re2::RE2::Options options;
  options.set_log_errors(false);
  return options;
}

bool HeaderCondition::holds(std::span<const HeaderView> request_headers) const {
  for (const HeaderView& h : request_headers) {
    if (!equalsIgnoreCase(h.name, name)) continue;
    std::string_view v = trimOws(h.value);
    if (regex ? fullMatch(*regex, v) : v == value) return true;
  }
  return false;
}

bool CompiledRuleImpl::hostMatches(std::string_view host) const {
  if (host.empty()) return false;
  for (const std::string& h : exact_hosts) {
    if (equalsIgnoreCase(host, h)) return true;
  }
  for (const std::string& suffix : wildcard_suffixes) {
    if (host.size() > suffix.size() &&
        equalsIgnoreCase(host.substr(host.size() - suffix.size()), suffix)) {
      return true;
    }
  }
  return false;
}

bool CompiledRuleImpl::whenHolds() const {
  switch (when_kind) {
    case WhenConfig::Kind::kNone:
      return true;
    case WhenConfig::Kind::kFlag:
      return flag->value.load(std::memory_order_relaxed);
    case WhenConfig::Kind::kNotFlag:
      return !flag->value.load(std::memory_order_relaxed);
    case WhenConfig::Kind::kPoolDown:
      return pool->down.load(std::memory_order_relaxed);
  }
  return false;
}

bool CompiledRuleImpl::activeAt(EpochMillis now) const {
  return (!from || now >= *from) && (!until || now < *until);
}

bool CompiledRuleImpl::conditionsHold(const RequestView& req, MatchCaptures& caps) const {
  if (scheme && *scheme != req.scheme) return false;
  if (!methods.empty() && std::find(methods.begin(), methods.end(), req.method) == methods.end()) {
    return false;
  }
  if (hasHostCondition() && !hostMatches(req.host)) return false;
  if (path && req.path != *path) return false;
  if (path_prefix && !startsWith(req.path, *path_prefix)) return false;
  for (const HeaderCondition& h : headers) {
    if (!h.holds(req.headers)) return false;
  }
  std::array<re2::StringPiece, MatchCaptures::kMaxGroups> groups;
  if (path_regex && !path_regex->Match(piece(req.path), 0, req.path.size(), re2::RE2::ANCHOR_BOTH,
                                       groups.data(), submatches)) {
    return false;
  }
  caps.group_count = submatches;
  for (int g = 0; g < MatchCaptures::kMaxGroups; ++g) {
    caps.groups[g] =
        g < submatches ? std::string_view(groups[g].data(), groups[g].size()) : std::string_view();
  }
  caps.path_suffix = path_prefix ? req.path.substr(path_prefix->size()) : std::string_view();
  return true;
}

const CompiledRedirect* CompiledRule::redirect() const {
  return std::get_if<CompiledRedirect>(&impl_->action);
}

const CompiledForward* CompiledRule::forward() const {
  return std::get_if<CompiledForward>(&impl_->action);
}

const CompiledRespond* CompiledRule::respond() const {
  return std::get_if<CompiledRespond>(&impl_->action);
}

bool CompiledRule::matches(const RequestView& req, const MatchContext& ctx,
                           MatchCaptures& caps) const {
  return impl_->activeAt(ctx.now) && impl_->whenHolds() && impl_->conditionsHold(req, caps);
}

bool CompiledRule::matchesRequest(const RequestView& req, MatchCaptures& caps) const {
  return impl_->conditionsHold(req, caps);
}

bool CompiledRule::activeAt(EpochMillis now) const { return impl_->activeAt(now); }

bool CompiledRule::hostChecked() const { return impl_->hasHostCondition(); }

void CompiledRule::buildLocation(const RequestView& req, const MatchCaptures& caps,
                                 std::string& out) const {
  const CompiledRedirect* r = redirect();
  if (r == nullptr) return;
  r->to.expand(req, caps, out);
  if (r->append_query) appendUriSafe(out, req.query);
}

std::shared_ptr<CompiledRuleImpl> compileRule(const RuleConfig& rule, const Config& config,
                                              Diagnostics& diags) {
  return RuleCompiler(rule, config, diags).compile();
}

}  // namespace detour
