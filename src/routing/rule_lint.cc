// lintRules(): the warnings of contract §3 that need the compiled table. Each message names
// the rule and says what to change.

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "routing/rule_lint.h"
#include "routing/rule_lint_internal.h"

namespace detour {
namespace {

// RFC 3339 in UTC: 2026-11-30T00:00:00Z (milliseconds shown only when not zero).
std::string formatRfc3339(EpochMillis ms) {
  using namespace std::chrono;
  sys_time<milliseconds> t{milliseconds{ms}};
  sys_days day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss<milliseconds> hms{t - day};
  char buf[64];
  int n = std::snprintf(
      buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", int{ymd.year()}, unsigned{ymd.month()},
      unsigned{ymd.day()}, static_cast<int>(hms.hours().count()),
      static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  std::string out(buf, static_cast<size_t>(n));
  if (hms.subseconds().count() != 0) {
    std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(hms.subseconds().count()));
    out += buf;
  }
  return out + "Z";
}

bool isBodyMethod(std::string_view m) {
  return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
}

// A 301/302 lets the client re-send a POST as a GET without its body (RFC 9110 §15.4.2-3).
void lintBodyDroppingRedirect(const CompiledRule& rule, const std::string& file,
                              Diagnostics& diags) {
  const CompiledRedirect* redirect = rule.redirect();
  if (redirect == nullptr || (redirect->code != 301 && redirect->code != 302)) return;
  const RuleConfig& config = rule.config();
  if (config.match && !config.match->methods.empty()) {
    const auto& methods = config.match->methods;
    if (std::none_of(methods.begin(), methods.end(), isBodyMethod)) return;
  }
  const auto* action = std::get_if<RedirectAction>(&config.action);
  std::string code = std::to_string(redirect->code);
  std::string fix = redirect->code == 301 ? "use 308 (or 307)" : "use 307 (or 308)";
  diags.warning(file, lintPos(config, action->code_pos),
                "rule '" + rule.name() + "': a " + code +
                    " redirect lets clients turn POST, PUT, PATCH and DELETE into GET and drop "
                    "the body; " +
                    fix + ", or restrict methods to GET and HEAD");
}

void lintExpired(const CompiledRule& rule, EpochMillis now, const std::string& file,
                 Diagnostics& diags) {
  const ActiveWindow& active = rule.config().active;
  // The rule exists while now < until, so at now == until it is already gone.
  if (!active.until || *active.until > now) return;
  diags.warning(file, lintPos(rule.config(), active.until_pos),
                "rule '" + rule.name() + "' expired at " + formatRfc3339(*active.until) +
                    "; remove it or move 'until'");
}

// {host} is the request's Host header, which the client chooses. Unless a host condition or
// server.hosts vouches for it, a forged Host turns the redirect into one to any site.
void lintUncheckedHost(const RuleTable& table, const CompiledRule& rule, const std::string& file,
                       Diagnostics& diags) {
  const CompiledRedirect* r = rule.redirect();
  if (r == nullptr || !r->to.usesHost() || rule.hostChecked()) return;
  if (!table.config().server.hosts.empty()) return;
  const auto& redirect = std::get<RedirectAction>(rule.config().action);
  diags.warning(file, lintPos(rule.config(), redirect.to_pos),
                "rule '" + rule.name() + "' puts the request's Host into Location unchecked: a "
                "client can send any Host and be redirected there; add a 'host:' condition to "
                "the rule or list your names in server.hosts");
}

}  // namespace

void lintRules(const RuleTable& table, EpochMillis now, Diagnostics& diags) {
  LintOptions opts;
  opts.now = now;
  lintRules(table, opts, diags);
}

void lintRules(const RuleTable& table, const LintOptions& opts, Diagnostics& diags) {
  const std::string& file = table.config().file;
  for (size_t i = 0; i < table.size(); ++i) {
    const CompiledRule& rule = table.rule(i);
    lintBodyDroppingRedirect(rule, file, diags);
    lintExpired(rule, opts.now, file, diags);
    lintRedirectLoop(rule, file, diags);
    if (opts.hosts_known) lintUncheckedHost(table, rule, file, diags);
  }
  lintShadowedRules(table, diags);
}

}  // namespace detour
