// `detour test -c FILE CASES.yaml`: routing cases checked against the table, no traffic.

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/request_spec.h"
#include "config/config_loader.h"
#include "server/config_snapshot.h"

namespace detour {
namespace {

struct CaseResult {
  int line = 0;
  std::vector<std::string> problems;
};

std::string scalarText(const YAML::Node& n) { return n.IsScalar() ? n.Scalar() : std::string(); }

// Sets every flag to its config value and every pool up, then applies the case's overrides.
std::string applyState(const YAML::Node& c, const Config& cfg, RuntimeState& state) {
  for (const auto& f : cfg.flags) state.findFlag(f.name)->value.store(f.default_value);
  for (const auto& p : cfg.pools) state.poolCell(p.name)->down.store(false);
  if (const YAML::Node flags = c["flags"]) {
    if (!flags.IsMap()) return "'flags' must be a map of flag name to true/false";
    for (const auto& kv : flags) {
      std::string name = kv.first.as<std::string>();
      FlagCell* cell = state.findFlag(name);
      if (cell == nullptr) return "unknown flag '" + name + "'";
      bool v = false;
      if (!YAML::convert<bool>::decode(kv.second, v)) return "flag '" + name + "' must be true or false";
      cell->value.store(v);
    }
  }
  if (const YAML::Node pools = c["pools_down"]) {
    if (!pools.IsSequence()) return "'pools_down' must be a list of pool names";
    for (const auto& p : pools) {
      std::string name = scalarText(p);
      if (cfg.findPool(name) == nullptr) return "unknown pool '" + name + "'";
      state.poolCell(name)->down.store(true);
    }
  }
  return {};
}

void checkExpectations(const YAML::Node& expect, const Decision& d, CaseResult& res) {
  static const std::vector<std::string> kKeys = {"rule", "status", "location", "pool", "action"};
  for (const auto& kv : expect) {
    std::string key = kv.first.as<std::string>();
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      res.problems.push_back("unknown expectation '" + key + "' (use rule, status, location, pool, action)");
    }
  }
  std::string got_rule = d.rule ? d.rule->name() : "none";
  if (const YAML::Node r = expect["rule"]) {
    std::string want = r.IsNull() ? "none" : scalarText(r);
    if (want != got_rule) res.problems.push_back("rule: expected '" + want + "', got '" + got_rule + "'");
  }
  if (const YAML::Node s = expect["status"]) {
    std::string want = scalarText(s);
    std::string got = d.status == 0 ? "forward" : std::to_string(d.status);
    if (want != got) res.problems.push_back("status: expected " + want + ", got " + got);
  }
  if (const YAML::Node l = expect["location"]) {
    if (scalarText(l) != d.location)
      res.problems.push_back("location: expected '" + scalarText(l) + "', got '" + d.location + "'");
  }
  if (const YAML::Node p = expect["pool"]) {
    if (scalarText(p) != d.pool)
      res.problems.push_back("pool: expected '" + scalarText(p) + "', got '" + d.pool + "'");
  }
  if (const YAML::Node a = expect["action"]) {
    const char* got = d.rule == nullptr ? "none"
                      : d.kind == ActionKind::kRedirect ? "redirect"
                      : d.kind == ActionKind::kForward ? "forward" : "respond";
    if (scalarText(a) != got)
      res.problems.push_back("action: expected '" + scalarText(a) + "', got '" + got + "'");
  }
}

CaseResult runCase(const YAML::Node& c, const ConfigSnapshot& snap, RuntimeState& state) {
  CaseResult res;
  res.line = c.Mark().line + 1;
  if (!c.IsMap() || !c["request"] || !c["expect"] || !c["expect"].IsMap()) {
    res.problems.push_back("a case needs 'request: METHOD URL' and an 'expect:' map");
    return res;
  }
  RequestSpec spec;
  std::string err = spec.parseLine(scalarText(c["request"]));
  if (const YAML::Node hs = c["headers"]; err.empty() && hs) {
    if (!hs.IsMap()) err = "'headers' must be a map";
    for (const auto& kv : hs) {
      if (err.empty()) err = spec.addHeader(kv.first.as<std::string>() + ": " + scalarText(kv.second));
    }
  }
  if (err.empty()) err = applyState(c, snap.config(), state);
  MatchContext ctx;
  ctx.now = nowMillis();
  if (const YAML::Node t = c["time"]; err.empty() && t) {
    auto ms = parseRfc3339(scalarText(t));
    if (!ms) err = "'time' must be an RFC 3339 time";
    if (ms) ctx.now = *ms;
  }
  if (!err.empty()) {
    res.problems.push_back(err);
    return res;
  }
  Decision d = decide(*snap.table, spec.view(), ctx);
  applyPoolDown(d, state);  // a forward to a pool the case has down: the live server's 503
  checkExpectations(c["expect"], d, res);
  return res;
}

}  // namespace

int runTestCommand(const CliOptions& opts) {
  if (opts.args.size() != 1) {
    fprintf(stderr, "usage: detour test -c FILE CASES.yaml\n");
    return 2;
  }
  const std::string& cases_path = opts.args[0];
  RuntimeState state;
  Diagnostics diags;
  auto snap = buildSnapshot(opts.configs.front(), state, diags);
  if (!snap) {
    diags.sortByPosition();
    fputs(diags.formatAll().c_str(), stderr);
    return 1;
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(cases_path);
  } catch (const YAML::Exception& e) {
    fprintf(stderr, "%s:%d:%d: error: %s\n", cases_path.c_str(), e.mark.line + 1,
            e.mark.column + 1, e.msg.c_str());
    return 1;
  }
  if (!root.IsSequence()) {
    fprintf(stderr, "%s:1:1: error: expected a list of cases\n", cases_path.c_str());
    return 1;
  }
  size_t failed = 0;
  size_t index = 0;
  for (const auto& c : root) {
    ++index;
    CaseResult res;
    try {
      res = runCase(c, *snap, state);
    } catch (const YAML::Exception& e) {
      res.line = e.mark.line + 1;
      res.problems.push_back(e.msg);
    }
    if (res.problems.empty()) continue;
    ++failed;
    std::string request = c.IsMap() && c["request"] ? scalarText(c["request"]) : "?";
    for (const auto& p : res.problems) {
      printf("%s:%d: case %zu (%s): %s\n", cases_path.c_str(), res.line, index, request.c_str(),
             p.c_str());
    }
  }
  printf("%zu case(s), %zu passed, %zu failed\n", index, index - failed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace detour
