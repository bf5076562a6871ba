// The loader's entry points: YAML text -> nodes (the only place yaml-cpp exceptions are caught)
// -> the top-level map, read section by section in dependency order -> cross-section checks.

#include "config/config_loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "config/config_node.h"
#include "config/config_sections.h"

namespace detour {

namespace {

constexpr Pos kFileStart{1, 1};

// True when the indentation of line `line` (0-based) of `text` holds a tab.
bool indentedWithTab(std::string_view text, int line) {
  size_t start = 0;
  for (int i = 0; i < line && start != std::string_view::npos; ++i) {
    start = text.find('\n', start);
    if (start != std::string_view::npos) ++start;
  }
  for (size_t i = start; i != std::string_view::npos && i < text.size(); ++i) {
    if (text[i] == '\t') return true;
    if (text[i] != ' ') return false;
  }
  return false;
}

// A fix to add to yaml-cpp's terse syntax messages.
std::string syntaxHint(const std::string& message, bool tab, char at) {
  if (tab) return " (YAML does not allow tabs for indentation: use spaces)";
  if (at == ',') return " (unexpected ','; commas separate items only inside [ ] and { })";
  if (message == "illegal map value") {
    return " (quote values that contain ': ', and check the indentation)";
  }
  if (message == "end of map not found" || message == "end of sequence not found") {
    return " (check the indentation)";
  }
  if (message == "end of map flow not found") {
    return " (a '{' is not closed, or a value inside it holds ': ' and needs quotes)";
  }
  if (message == "end of sequence flow not found") return " (a '[' is not closed)";
  return "";
}

Pos markToPos(const YAML::Mark& mark) {
  if (mark.line < 0 || mark.column < 0) return kFileStart;
  return {mark.line + 1, mark.column + 1};
}

void readVersion(ConfigReporter& r, const ConfigValue& value, Config& config) {
  const YAML::Node& node = value.node;
  if (node.IsScalar() && node.Tag() != "!" && node.Scalar() == "1") {
    config.version = 1;
    return;
  }
  r.error(value.pos, "'version' must be 1 (got " + describePlain(node) + ")");
}

// An admin listener on (or overlapping) a traffic listener's address would take its
// connections, and answer the admin API on the traffic port.
void checkAdminAddress(ConfigReporter& r, const Config& config) {
  if (!config.admin.listen) return;
  const ListenerConfig& admin = *config.admin.listen;
  for (const auto& listener : config.server.listen) {
    if (!listenAddressesOverlap(listener.address, admin.address)) continue;
    bool same = listener.address.toString() == admin.address.toString();
    r.error(admin.pos, "admin listen address " + quoteText(admin.text) +
                           (same ? " is also a traffic listener"
                                 : " overlaps the traffic listener " + quoteText(listener.text)) +
                           " (line " + std::to_string(listener.pos.line) +
                           "): use another port");
    return;
  }
}

void readTop(ConfigReporter& r, const YAML::Node& root, Config& config) {
  if (!root.IsDefined() || root.IsNull()) {
    r.error(kFileStart,
            "the config file is empty: it needs at least 'server' (with 'listen') "
            "and 'rules'");
    return;
  }
  ConfigValue top{root, "", "the config file", kFileStart, kFileStart};
  ConfigMap map(r, top, "the top-level map",
                {"version", "server", "admin", "log", "flags", "pools", "rules"},
                {{"routes", "rules"},
                 {"upstreams", "pools"},
                 {"backends", "pools"},
                 {"logging", "log"},
                 {"listen", "server"}});
  if (!map.isMap()) return;
  if (auto v = map.get("version")) readVersion(r, *v, config);
  if (auto v = map.require("server")) {
    readServer(r, *v, config.server);
  } else {
    r.incomplete().hosts = true;
  }
  if (auto v = map.get("admin")) readAdmin(r, *v, config.admin);
  if (auto v = map.get("log")) readLog(r, *v, config.log);
  if (auto v = map.get("flags")) readFlags(r, *v, config.flags);
  if (auto v = map.get("pools")) readPools(r, *v, config.pools);
  if (auto v = map.get("rules")) {
    readRules(r, *v, config);
  } else if (!map.suggested("rules")) {
    r.warning(kFileStart, "no rules: every request gets 404");
  }
  checkAdminAddress(r, config);
}

// Records where each document of a YAML stream starts; everything else is ignored.
class DocumentStarts : public YAML::EventHandler {
 public:
  const std::vector<YAML::Mark>& starts() const { return starts_; }

  // YAML::EventHandler
  void OnDocumentStart(const YAML::Mark& mark) override { starts_.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  std::vector<YAML::Mark> starts_;
};

// Reports a stream that is not exactly one document; returns false when it did. yaml-cpp 0.7's
// YAML::LoadAll never returns on a stray ',' outside brackets (jbeder/yaml-cpp#1040: the parser
// starts a new empty document at the same token forever, allocating each time), and YAML::Load
// silently drops what follows the first document; so documents are walked here through the
// event API, stopping as soon as a document starts where the previous one did.
bool checkSingleDocument(ConfigReporter& r, const std::string& yaml) {
  std::istringstream in(yaml);
  YAML::Parser parser(in);
  DocumentStarts documents;
  while (parser.HandleNextDocument(documents)) {
    const auto& starts = documents.starts();
    size_t n = starts.size();
    if (n >= 2 && starts[n - 1].pos == starts[n - 2].pos) {
      const YAML::Mark& at = starts[n - 1];
      bool comma = at.pos >= 0 && static_cast<size_t>(at.pos) < yaml.size() && yaml[at.pos] == ',';
      r.error(markToPos(at), comma ? "YAML syntax error: unexpected ',' (commas separate items "
                                     "only inside [ ] and { })"
                                   : "YAML syntax error: unexpected text after the document");
      return false;
    }
  }
  if (documents.starts().size() > 1) {
    r.error(markToPos(documents.starts()[1]),
            "the config file holds more than one YAML document: keep one (remove the second "
            "'---')");
    return false;
  }
  return true;
}

// Parses the YAML text (one document) and reads it; catches every yaml-cpp exception. Returns
// true when the YAML parsed, so that `config` holds what could be read.
bool parseAndRead(ConfigReporter& r, std::string_view yaml, Config& config) {
  try {
    std::string text(yaml);
    if (!checkSingleDocument(r, text)) return false;
    YAML::Node root = YAML::Load(text);
    readTop(r, root, config);
    return true;
  } catch (const YAML::Exception& e) {
    bool tab = e.mark.line >= 0 && indentedWithTab(yaml, e.mark.line);
    char at =
        e.mark.pos >= 0 && static_cast<size_t>(e.mark.pos) < yaml.size() ? yaml[e.mark.pos] : '\0';
    r.error(markToPos(e.mark), "YAML syntax error: " + e.msg + syntaxHint(e.msg, tab, at));
  } catch (const std::exception& e) {
    r.error(kFileStart, std::string("cannot read the config: ") + e.what());
  }
  return false;
}

// `config` without the rules that had errors of their own.
PartialConfig partialConfig(Config config, const ConfigReporter::Incomplete& incomplete) {
  PartialConfig partial;
  partial.hosts_known = !incomplete.hosts;
  std::vector<RuleConfig> clean;
  size_t next_broken = 0;
  for (size_t i = 0; i < config.rules.size(); ++i) {
    if (next_broken < incomplete.rules.size() && incomplete.rules[next_broken] == i) {
      ++next_broken;
      continue;
    }
    clean.push_back(std::move(config.rules[i]));
  }
  config.rules = std::move(clean);
  partial.config = std::move(config);
  return partial;
}

// Reads the file at `path` into `out`; returns "" or the reason it could not.
std::string readWholeFile(const std::string& path, std::string& out) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return "it is a directory";
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::strerror(errno);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::strerror(errno);
  out = text.str();
  return "";
}

}  // namespace

LoadResult loadConfigString(std::string_view yaml, const std::string& file,
                            const std::string& base_dir) {
  LoadResult result;
  ConfigReporter reporter(file, base_dir, result.diagnostics);
  Config config;
  config.file = file;
  bool parsed = parseAndRead(reporter, yaml, config);
  result.diagnostics.sortByPosition();
  if (reporter.errorCount() == 0) {
    result.config = std::move(config);
  } else if (parsed) {
    result.partial = partialConfig(std::move(config), reporter.incomplete());
  }
  return result;
}

LoadResult loadConfigFile(const std::string& path) {
  std::string text;
  std::string error = readWholeFile(path, text);
  if (!error.empty()) {
    LoadResult result;
    result.diagnostics.error(path, kFileStart, "cannot read the config file: " + error);
    return result;
  }
  std::string base_dir = std::filesystem::path(path).parent_path().string();
  return loadConfigString(text, path, base_dir.empty() ? "." : base_dir);
}

}  // namespace detour
