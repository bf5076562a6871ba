// `detour diff -c OLD -c NEW [--replay ACCESS_LOG] [--json]`: what a reload from OLD to NEW
// would change. Rules are compared by name (added, removed, edited, moved); replaying an
// access log runs each distinct logged request through both tables and reports those whose
// outcome (rule, status, Location, pool) changes, with how many times each was seen.
// Exit 0 when nothing changes, 1 when something does, 2 on bad input.

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "cli/access_log_reader.h"
#include "cli/commands.h"
#include "common/string_util.h"
#include "proxy/request_target.h"
#include "routing/decision.h"
#include "server/config_snapshot.h"

namespace detour {
namespace {

std::string join(const std::vector<std::string>& v, const char* sep = ",") {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::string describeMatch(const RuleConfig& r) {
  if (!r.match) return "everything";
  const MatchConfig& m = *r.match;
  std::vector<std::string> parts;
  if (!m.hosts.empty()) parts.push_back("host=" + join(m.hosts));
  if (m.scheme) parts.push_back(*m.scheme == Scheme::kHttps ? "scheme=https" : "scheme=http");
  if (m.path) parts.push_back("path=" + *m.path);
  if (m.path_prefix) parts.push_back("path_prefix=" + *m.path_prefix);
  if (m.path_regex) parts.push_back("path_regex=" + *m.path_regex);
  if (!m.methods.empty()) parts.push_back("methods=" + join(m.methods));
  for (const auto& h : m.headers) {
    parts.push_back("header " + asciiLowerCopy(h.name) + (h.is_regex ? "~" + h.regex : "=" + h.value));
  }
  return parts.empty() ? "everything" : join(parts, " ");
}

std::string describeWhen(const RuleConfig& r) {
  switch (r.when.kind) {
    case WhenConfig::Kind::kNone: return "always";
    case WhenConfig::Kind::kFlag: return "flag " + r.when.name;
    case WhenConfig::Kind::kNotFlag: return "flag !" + r.when.name;
    case WhenConfig::Kind::kPoolDown: return "pool_down " + r.when.name;
  }
  return "?";
}

std::string describeActive(const RuleConfig& r) {
  if (!r.active.from && !r.active.until) return "always";
  return "from " + (r.active.from ? std::to_string(*r.active.from) : std::string("-")) +
         " until " + (r.active.until ? std::to_string(*r.active.until) : std::string("-"));
}

std::string describeAction(const RuleConfig& r) {
  if (const auto* rd = std::get_if<RedirectAction>(&r.action)) {
    std::string s = "redirect " + std::to_string(rd->code) + " " + rd->to;
    if (!rd->keep_query) s += " keep_query=false";
    if (rd->retry_after) s += " retry_after=" + std::to_string(*rd->retry_after);
    if (rd->cache_control) s += " cache_control=" + *rd->cache_control;
    return s;
  }
  if (const auto* fw = std::get_if<ForwardAction>(&r.action)) {
    std::string s = "forward " + fw->pool;
    if (fw->strip_prefix) s += " strip_prefix=" + *fw->strip_prefix;
    for (const auto& [n, v] : fw->set_headers) s += " set " + n + "=" + v;
    return s;
  }
  const auto& rs = std::get<RespondAction>(r.action);
  std::string s = "respond " + std::to_string(rs.status) + " body=" + jsonQuote(rs.body);
  for (const auto& [n, v] : rs.headers) s += " " + n + "=" + v;
  return s;
}

struct FieldChange {
  std::string field, before, after;
};

std::vector<FieldChange> compareRules(const RuleConfig& a, const RuleConfig& b) {
  std::vector<FieldChange> out;
  auto cmp = [&](const char* field, const std::string& x, const std::string& y) {
    if (x != y) out.push_back({field, x, y});
  };
  cmp("match", describeMatch(a), describeMatch(b));
  cmp("when", describeWhen(a), describeWhen(b));
  cmp("active", describeActive(a), describeActive(b));
  cmp("action", describeAction(a), describeAction(b));
  return out;
}

struct RuleDiff {
  std::vector<const RuleConfig*> added, removed;
  std::vector<std::pair<const RuleConfig*, std::vector<FieldChange>>> edited;
  std::vector<std::tuple<std::string, size_t, size_t>> moved;  // name, old #, new # (1-based)
  bool empty() const { return added.empty() && removed.empty() && edited.empty() && moved.empty(); }
};

RuleDiff diffRules(const Config& old_cfg, const Config& new_cfg) {
  RuleDiff d;
  std::map<std::string, const RuleConfig*> old_by, new_by;
  for (const auto& r : old_cfg.rules) old_by[r.name] = &r;
  for (const auto& r : new_cfg.rules) new_by[r.name] = &r;
  for (const auto& r : new_cfg.rules) {
    auto it = old_by.find(r.name);
    if (it == old_by.end()) {
      d.added.push_back(&r);
    } else if (auto changes = compareRules(*it->second, r); !changes.empty()) {
      d.edited.emplace_back(&r, std::move(changes));
    }
  }
  for (const auto& r : old_cfg.rules) {
    if (!new_by.count(r.name)) d.removed.push_back(&r);
  }
  // Order among the rules both files have: a rule moved when its rank among them changed.
  std::vector<std::string> old_common, new_common;
  for (const auto& r : old_cfg.rules) if (new_by.count(r.name)) old_common.push_back(r.name);
  for (const auto& r : new_cfg.rules) if (old_by.count(r.name)) new_common.push_back(r.name);
  for (size_t i = 0; i < new_common.size(); ++i) {
    size_t was = std::find(old_common.begin(), old_common.end(), new_common[i]) - old_common.begin();
    if (was != i) d.moved.emplace_back(new_common[i], was + 1, i + 1);
  }
  return d;
}

struct Outcome {
  std::string rule, location, pool;
  int status = 0;
  bool operator==(const Outcome&) const = default;
  std::string text() const {
    if (rule.empty()) return "no rule -> 404";
    std::string s = rule + " -> ";
    if (!pool.empty()) return s + "forward " + pool;
    s += std::to_string(status);
    if (!location.empty()) s += " " + location;
    return s;
  }
  std::string json() const {
    return "{\"rule\":" + (rule.empty() ? std::string("null") : jsonQuote(rule)) +
           ",\"status\":" + (status == 0 ? std::string("null") : std::to_string(status)) +
           ",\"location\":" + (location.empty() ? std::string("null") : jsonQuote(location)) +
           ",\"pool\":" + (pool.empty() ? std::string("null") : jsonQuote(pool)) + "}";
  }
};

Outcome outcomeFor(const RuleTable& table, const LoggedRequest& r, EpochMillis now) {
  TargetParts target;
  std::string host;
  std::string_view port;
  std::string target_text = r.target;
  if (!splitTarget(target_text, target) || target.asterisk) return {};
  std::string_view host_value = target.authority.empty() ? std::string_view(r.host) : target.authority;
  if (!host_value.empty() && !splitHost(host_value, host, port)) host.clear();
  // Without a port in Host, {port} was the listener's (logged); lines older than that field
  // fall back to the scheme's default.
  std::string port_buf(!port.empty()               ? std::string(port)
                       : !r.listener_port.empty() ? r.listener_port
                       : r.scheme == Scheme::kHttps ? "443"
                                                    : "80");
  std::vector<HeaderView> headers;
  if (!r.host.empty()) headers.push_back({"Host", r.host});
  if (!r.user_agent.empty()) headers.push_back({"User-Agent", r.user_agent});
  if (!r.referer.empty()) headers.push_back({"Referer", r.referer});
  RequestView view;
  view.method = r.method;
  view.scheme = r.scheme;
  view.host = host;
  view.port = port_buf;
  view.path = target.path;
  view.query = target.query;
  view.headers = headers;
  MatchContext ctx;
  ctx.now = now;
  Decision d = decide(table, view, ctx);
  Outcome o;
  if (d.rule != nullptr) o.rule = d.rule->name();
  o.status = d.status;
  o.location = d.location;
  o.pool = d.pool;
  return o;
}

struct ReplayChange {
  LoggedRequest request;
  size_t count = 0;
  Outcome before, after;
};

struct Replay {
  size_t lines = 0, unreadable = 0, distinct = 0;
  std::vector<ReplayChange> changes;
};

bool replayLog(const std::string& path, const RuleTable& old_t, const RuleTable& new_t, Replay& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::map<std::string, std::pair<LoggedRequest, size_t>> seen;
  std::string line;
  while (std::getline(in, line)) {
    if (trimOws(line).empty()) continue;
    ++out.lines;
    auto r = parseAccessLogLine(line);
    if (!r) {
      ++out.unreadable;
      continue;
    }
    auto& slot = seen[r->key()];
    if (slot.second++ == 0) slot.first = std::move(*r);
  }
  out.distinct = seen.size();
  EpochMillis now = nowMillis();
  for (const auto& [key, entry] : seen) {
    Outcome a = outcomeFor(old_t, entry.first, now);
    Outcome b = outcomeFor(new_t, entry.first, now);
    if (!(a == b)) out.changes.push_back({entry.first, entry.second, a, b});
  }
  std::stable_sort(out.changes.begin(), out.changes.end(),
                   [](const ReplayChange& x, const ReplayChange& y) { return x.count > y.count; });
  return true;
}

void printText(const RuleDiff& d, const Replay* replay) {
  printf("rules: %zu added, %zu removed, %zu edited, %zu moved\n", d.added.size(), d.removed.size(),
         d.edited.size(), d.moved.size());
  for (const auto* r : d.added) printf("  + %s (new line %d): %s\n", r->name.c_str(), r->pos.line, describeAction(*r).c_str());
  for (const auto* r : d.removed) printf("  - %s (old line %d)\n", r->name.c_str(), r->pos.line);
  for (const auto& [r, changes] : d.edited) {
    printf("  ~ %s (new line %d)\n", r->name.c_str(), r->pos.line);
    for (const auto& c : changes) printf("      %s: %s -> %s\n", c.field.c_str(), c.before.c_str(), c.after.c_str());
  }
  for (const auto& [name, from, to] : d.moved) printf("  ^ %s: #%zu -> #%zu\n", name.c_str(), from, to);
  if (replay == nullptr) return;
  size_t affected = 0;
  for (const auto& c : replay->changes) affected += c.count;
  printf("replay: %zu line(s), %zu unreadable, %zu distinct request(s), %zu change outcome (%zu request(s))\n",
         replay->lines, replay->unreadable, replay->distinct, replay->changes.size(), affected);
  for (const auto& c : replay->changes) {
    printf("  %zux %s %s://%s%s\n      %s\n   -> %s\n", c.count, c.request.method.c_str(),
           c.request.scheme == Scheme::kHttps ? "https" : "http", c.request.host.c_str(),
           c.request.target.c_str(), c.before.text().c_str(), c.after.text().c_str());
  }
}

void printJson(const RuleDiff& d, const Replay* replay) {
  std::string out = "{\"rules\":{\"added\":[";
  for (size_t i = 0; i < d.added.size(); ++i) {
    out += std::string(i ? "," : "") + "{\"name\":" + jsonQuote(d.added[i]->name) + ",\"line\":" + std::to_string(d.added[i]->pos.line) + "}";
  }
  out += "],\"removed\":[";
  for (size_t i = 0; i < d.removed.size(); ++i) {
    out += std::string(i ? "," : "") + "{\"name\":" + jsonQuote(d.removed[i]->name) + ",\"line\":" + std::to_string(d.removed[i]->pos.line) + "}";
  }
  out += "],\"edited\":[";
  for (size_t i = 0; i < d.edited.size(); ++i) {
    const auto& [r, changes] = d.edited[i];
    out += std::string(i ? "," : "") + "{\"name\":" + jsonQuote(r->name) + ",\"line\":" + std::to_string(r->pos.line) + ",\"changes\":[";
    for (size_t k = 0; k < changes.size(); ++k) {
      out += std::string(k ? "," : "") + "{\"field\":" + jsonQuote(changes[k].field) + ",\"before\":" +
             jsonQuote(changes[k].before) + ",\"after\":" + jsonQuote(changes[k].after) + "}";
    }
    out += "]}";
  }
  out += "],\"moved\":[";
  for (size_t i = 0; i < d.moved.size(); ++i) {
    const auto& [name, from, to] = d.moved[i];
    out += std::string(i ? "," : "") + "{\"name\":" + jsonQuote(name) + ",\"from\":" + std::to_string(from) + ",\"to\":" + std::to_string(to) + "}";
  }
  out += "]}";
  if (replay != nullptr) {
    out += ",\"replay\":{\"lines\":" + std::to_string(replay->lines) + ",\"unreadable\":" +
           std::to_string(replay->unreadable) + ",\"distinct\":" + std::to_string(replay->distinct) + ",\"changed\":[";
    for (size_t i = 0; i < replay->changes.size(); ++i) {
      const auto& c = replay->changes[i];
      out += std::string(i ? "," : "") + "{\"request\":{\"method\":" + jsonQuote(c.request.method) +
             ",\"scheme\":\"" + (c.request.scheme == Scheme::kHttps ? "https" : "http") + "\",\"host\":" +
             jsonQuote(c.request.host) + ",\"target\":" + jsonQuote(c.request.target) + "},\"count\":" +
             std::to_string(c.count) + ",\"before\":" + c.before.json() + ",\"after\":" + c.after.json() + "}";
    }
    out += "]}";
  }
  out += "}";
  puts(out.c_str());
}

}  // namespace

int runDiffCommand(const CliOptions& opts) {
  if (opts.configs.size() != 2 || !opts.args.empty()) {
    fprintf(stderr, "usage: detour diff -c OLD -c NEW [--replay ACCESS_LOG] [--json]\n");
    return 2;
  }
  RuntimeState old_state, new_state;
  Diagnostics old_diags, new_diags;
  auto old_snap = buildSnapshot(opts.configs[0], old_state, old_diags);
  auto new_snap = buildSnapshot(opts.configs[1], new_state, new_diags);
  if (!old_snap || !new_snap) {
    old_diags.sortByPosition();
    new_diags.sortByPosition();
    fputs(old_diags.formatAll().c_str(), stderr);
    fputs(new_diags.formatAll().c_str(), stderr);
    return 2;
  }
  RuleDiff d = diffRules(old_snap->config(), new_snap->config());
  Replay replay;
  bool have_replay = !opts.replay.empty();
  if (have_replay && !replayLog(opts.replay, *old_snap->table, *new_snap->table, replay)) {
    fprintf(stderr, "detour diff: cannot read %s\n", opts.replay.c_str());
    return 2;
  }
  if (opts.json) {
    printJson(d, have_replay ? &replay : nullptr);
  } else {
    printText(d, have_replay ? &replay : nullptr);
  }
  return d.empty() && replay.changes.empty() ? 0 : 1;
}

}  // namespace detour
