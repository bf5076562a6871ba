#include <cstdio>
#include <optional>

#include "cli/commands.h"
#include "cli/request_spec.h"
#include "common/string_util.h"
#include "config/config_loader.h"
#include "http/codes.h"
#include "server/config_snapshot.h"

namespace detour {
namespace {

// Why a forward is answered by detour itself (applyPoolDown).
constexpr const char* kHostNotServedReason =
    "the Host is not in server.hosts: {host} never takes a redirect to it";

std::string poolDownReason(const Decision& d) {
  return "pool '" + d.pool +
         "' has no healthy backend: detour answers itself, nothing is forwarded";
}

void printText(const RequestSpec& spec, const std::string& url, const Decision& d) {
  printf("request:  %s %s\n", spec.method.c_str(), url.c_str());
  if (d.rule == nullptr) {
    printf("rule:     none (no rule matches)\n");
    printf("status:   404 Not Found\n");
    return;
  }
  const RuleConfig& rc = d.rule->config();
  printf("rule:     %s (#%zu, line %d)\n", d.rule->name().c_str(), d.rule->id() + 1, rc.pos.line);
  switch (d.kind) {
    case ActionKind::kRedirect: {
      printf("action:   redirect\n");
      const CompiledRedirect* r = d.rule->redirect();
      if (d.status != r->code) {
        // 421: {host} would come from a Host outside server.hosts; no Location is made.
        printf("status:   %d %s (%s)\n", d.status, std::string(statusReason(d.status)).c_str(),
               kHostNotServedReason);
        break;
      }
      printf("status:   %d %s\n", d.status, std::string(statusReason(d.status)).c_str());
      printf("location: %s\n", d.location.c_str());
      if (r->cache_control) printf("cache-control: %s\n", r->cache_control->c_str());
      if (r->retry_after) printf("retry-after: %u\n", *r->retry_after);
      break;
    }
    case ActionKind::kRespond:
      printf("action:   respond\n");
      printf("status:   %d %s\n", d.status, std::string(statusReason(d.status)).c_str());
      break;
    case ActionKind::kForward:
      printf("action:   forward\n");
      printf("pool:     %s\n", d.pool.c_str());
      if (d.status == 0) {
        printf("status:   (the backend's)\n");
        break;
      }
      printf("status:   %d %s (%s)\n", d.status, std::string(statusReason(d.status)).c_str(),
             poolDownReason(d).c_str());
      printf("retry-after: %d\n", kPoolDownRetryAfter);
      break;
  }
}

void printJson(const RequestSpec& spec, const std::string& url, const Decision& d) {
  std::string out = "{\"request\":{\"method\":" + jsonQuote(spec.method) + ",\"url\":" + jsonQuote(url) + "}";
  if (d.rule == nullptr) {
    out += ",\"rule\":null,\"action\":null,\"status\":404,\"location\":null,\"pool\":null,"
           "\"retry_after\":null,\"reason\":null}";
    puts(out.c_str());
    return;
  }
  out += ",\"rule\":" + jsonQuote(d.rule->name());
  out += ",\"index\":" + std::to_string(d.rule->id());
  out += ",\"line\":" + std::to_string(d.rule->config().pos.line);
  const char* action = d.kind == ActionKind::kRedirect ? "redirect"
                       : d.kind == ActionKind::kForward ? "forward" : "respond";
  out += ",\"action\":\"" + std::string(action) + "\"";
  out += ",\"status\":" + (d.status == 0 ? std::string("null") : std::to_string(d.status));
  bool misdirected = d.kind == ActionKind::kRedirect && d.status != d.rule->redirect()->code;
  out += ",\"location\":" +
         (d.kind == ActionKind::kRedirect && !misdirected ? jsonQuote(d.location) : "null");
  out += ",\"pool\":" + (d.kind == ActionKind::kForward ? jsonQuote(d.pool) : "null");
  std::optional<uint32_t> retry_after;
  if (d.kind == ActionKind::kRedirect && d.status == d.rule->redirect()->code) {
    retry_after = d.rule->redirect()->retry_after;  // not on a 421 for a Host not served
  }
  bool pool_down = d.kind == ActionKind::kForward && d.status != 0;
  if (pool_down) retry_after = kPoolDownRetryAfter;
  out += ",\"retry_after\":" + (retry_after ? std::to_string(*retry_after) : "null");
  out += ",\"reason\":" + (pool_down     ? jsonQuote(poolDownReason(d))
                            : misdirected ? jsonQuote(kHostNotServedReason)
                                          : "null");
  out += "}";
  puts(out.c_str());
}

}  // namespace

int runExplainCommand(const CliOptions& opts) {
  if (opts.args.size() != 2) {
    fprintf(stderr, "usage: detour explain -c FILE METHOD URL [-H 'Name: value']... [--json]\n");
    return 2;
  }
  RuntimeState state;
  Diagnostics diags;
  auto snap = buildSnapshot(opts.configs.front(), state, diags);
  if (!snap) {
    diags.sortByPosition();
    fputs(diags.formatAll().c_str(), stderr);
    return 1;
  }
  RequestSpec spec;
  spec.method = opts.args[0];
  std::string err = spec.setUrl(opts.args[1]);
  for (const auto& h : opts.headers) {
    if (err.empty()) err = spec.addHeader(h);
  }
  for (const auto& [name, value] : opts.flags) {
    FlagCell* cell = state.findFlag(name);
    if (cell == nullptr && err.empty()) err = "unknown flag '" + name + "'";
    if (cell != nullptr) cell->value.store(value);
  }
  for (const auto& pool : opts.pools_down) {
    PoolCell* cell = state.findPool(pool);
    if (cell == nullptr && err.empty()) err = "unknown pool '" + pool + "'";
    if (cell != nullptr) cell->down.store(true);
  }
  MatchContext ctx;
  ctx.now = nowMillis();
  if (!opts.time.empty()) {
    auto t = parseRfc3339(opts.time);
    if (!t && err.empty()) err = "--time: '" + opts.time + "' is not an RFC 3339 time";
    if (t) ctx.now = *t;
  }
  if (!err.empty()) {
    fprintf(stderr, "detour explain: %s\n", err.c_str());
    return 2;
  }
  Decision d = decide(*snap->table, spec.view(), ctx);
  applyPoolDown(d, state);
  if (opts.json) {
    printJson(spec, opts.args[1], d);
  } else {
    printText(spec, opts.args[1], d);
  }
  return 0;
}

}  // namespace detour
