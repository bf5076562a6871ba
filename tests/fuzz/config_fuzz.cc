// Fuzzes the config pipeline as `detour check` runs it: YAML text -> loadConfigString ->
// RuleTable::compile -> lintRules, then asks the compiled table about requests built from its
// own rules.
//
// Input: the text of a config file.
//
// Invariants:
//   - nothing crashes, hangs or leaks, whatever the text (yaml-cpp exceptions stay inside the
//     loader);
//   - every diagnostic names the file and a position inside it (line >= 1, col >= 1, line at
//     most one past the last line), with a message;
//   - a config that loads without errors has no error diagnostics, and vice versa;
//   - for requests aimed at each rule, match() agrees with the linear scan, and a redirect's
//     Location holds only URI bytes (no CR, LF, NUL, space or other controls).

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config_loader.h"
#include "fuzz_util.h"
#include "routing/decision.h"
#include "routing/rule_table.h"
#include "routing/runtime_state.h"

namespace detour::fuzz {
namespace {

constexpr char kFile[] = "fuzz.yaml";
constexpr EpochMillis kNow = 1'800'000'000'000;  // 2027-01-15: lint's "expired window" check

void checkDiagnostics(const Diagnostics& diags, std::string_view text, const char* phase) {
  int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const Diagnostic& d : diags.all()) {
    std::string where = std::string(phase) + ": " + printable(d.format());
    FUZZ_CHECK(d.file == kFile, where);
    FUZZ_CHECK(d.pos.line >= 1 && d.pos.col >= 1, "diagnostic without a position: " + where);
    FUZZ_CHECK(d.pos.line <= lines + 1,
               "diagnostic past the end (" + std::to_string(lines) + " lines): " + where);
    FUZZ_CHECK(!d.message.empty(), "empty message: " + where);
  }
}

// A request each rule's match block should accept: its first host (a wildcard's label filled
// in), its path, prefix (plus a tail) or "/", its first method, its scheme.
struct Probe {
  std::string method = "GET";
  std::string host = "example.com";
  std::string path = "/";
  Scheme scheme = Scheme::kHttp;
};

Probe probeFor(const RuleConfig& rule) {
  Probe p;
  if (!rule.match) return p;
  const MatchConfig& m = *rule.match;
  if (!m.hosts.empty()) {
    p.host = m.hosts.front();
    if (p.host.rfind("*.", 0) == 0) p.host.replace(0, 1, "a");
  }
  if (m.path) p.path = *m.path;
  if (m.path_prefix) p.path = *m.path_prefix + "x/%0D%0A y";
  if (!m.methods.empty()) p.method = m.methods.front();
  if (m.scheme) p.scheme = *m.scheme;
  return p;
}

void probeTable(const RuleTable& table) {
  for (size_t i = 0; i < table.size(); ++i) {
    Probe p = probeFor(table.rule(i).config());
    HeaderView headers[] = {{"User-Agent", "fuzz"}, {"X-Test", "1"}};
    RequestView req;
    req.method = p.method;
    req.scheme = p.scheme;
    req.host = p.host;
    req.port = "8080";
    req.path = p.path;
    req.query = "?q=%0d%0a\x01";
    req.headers = headers;
    MatchContext ctx{kNow};
    MatchCaptures caps, linear_caps;
    const CompiledRule* indexed = table.match(req, ctx, caps);
    const CompiledRule* linear = table.matchLinearForTest(req, ctx, linear_caps);
    FUZZ_CHECK(indexed == linear, "index and linear scan disagree for rule " + std::to_string(i) +
                                      " (" + printable(p.path) + ")");
    Decision d = decide(table, req, ctx);
    FUZZ_CHECK(d.rule == indexed, "decide() and match() disagree");
    FUZZ_CHECK(onlyUriBytes(d.location), "Location " + printable(d.location));
  }
}

}  // namespace
}  // namespace detour::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace detour;
  using namespace detour::fuzz;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // A folder that does not exist: relative TLS paths resolve under it and are reported missing.
  LoadResult loaded = loadConfigString(text, kFile, "/nonexistent-detour-fuzz");
  checkDiagnostics(loaded.diagnostics, text, "load");
  FUZZ_CHECK(loaded.config.has_value() != loaded.diagnostics.hasErrors(),
             "config present with errors, or absent without: " +
                 printable(loaded.diagnostics.formatAll()));
  if (!loaded.config) return 0;
  FUZZ_CHECK(loaded.config->file == kFile, "config.file " + printable(loaded.config->file));
  RuntimeState state;
  Diagnostics diags;
  auto table = RuleTable::compile(*loaded.config, state, diags);
  checkDiagnostics(diags, text, "compile");
  FUZZ_CHECK((table != nullptr) != diags.hasErrors(),
             "table present with errors, or absent without: " + printable(diags.formatAll()));
  if (!table) return 0;
  lintRules(*table, kNow, diags);
  checkDiagnostics(diags, text, "lint");
  probeTable(*table);
  return 0;
}
