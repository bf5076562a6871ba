// detour's entry point: parse argv, hand over to one subcommand (style P1).

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "common/string_util.h"

namespace {

constexpr const char* kVersion = "detour 0.1.0";

void usage(FILE* out) {
  fputs(
      "usage:\n"
      "  detour run -c FILE [--ready-file PATH] [--no-watch]\n"
      "                                             serve (also: detour -c FILE); reloads on\n"
      "                                             SIGHUP and when FILE changes\n"
      "  detour check -c FILE [--strict]             validate; exit 0 valid, 1 invalid\n"
      "  detour explain -c FILE METHOD URL [-H 'Name: value']... [--flag NAME=true|false]...\n"
      "                 [--pool-down POOL]... [--time RFC3339] [--json]\n"
      "  detour test -c FILE CASES.yaml              run routing cases; exit 0 all pass\n"
      "  detour diff -c OLD -c NEW [--replay ACCESS_LOG] [--json]\n"
      "                                             what a reload from OLD to NEW changes;\n"
      "                                             exit 0 nothing, 1 something\n"
      "  detour --version | --help\n",
      out);
}

constexpr std::string_view kCommands[] = {"run", "check", "explain", "test", "diff"};

bool isCommand(std::string_view word) {
  for (auto c : kCommands) {
    if (c == word) return true;
  }
  return false;
}

// "unknown command 'chek'; did you mean 'check'?" and the list of commands.
void reportUnknownCommand(const std::string& word) {
  std::string_view best;
  size_t best_distance = 3;  // at most 2 edits, and fewer than the word has letters
  for (auto c : kCommands) {
    size_t d = detour::editDistance(word, c);
    if (d < best_distance && d < word.size()) {
      best = c;
      best_distance = d;
    }
  }
  std::string hint;
  if (!best.empty()) {
    hint = "; did you mean '" + std::string(best) + "'?";
  } else if (word.ends_with(".yaml") || word.ends_with(".yml")) {
    hint = "; to run a config, use: detour -c " + word;
  }
  std::string list;
  for (auto c : kCommands) list += (list.empty() ? "" : ", ") + std::string(c);
  fprintf(stderr,
          "detour: unknown command '%s'%s\ncommands: %s (detour --help shows how to use them)\n",
          word.c_str(), hint.c_str(), list.c_str());
}

bool parseFlagArg(const std::string& v, detour::CliOptions& o) {
  size_t eq = v.find('=');
  if (eq == std::string::npos) return false;
  std::string val = v.substr(eq + 1);
  if (val != "true" && val != "false") return false;
  o.flags.emplace_back(v.substr(0, eq), val == "true");
  return true;
}

// Returns 0 on success, else an exit code.
int parseArgs(int argc, char** argv, detour::CliOptions& o) {
  int i = 1;
  if (i < argc && argv[i][0] != '-') {
    o.command = argv[i++];
    if (!isCommand(o.command)) {
      reportUnknownCommand(o.command);
      return 2;
    }
  }
  for (; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* what) -> const char* {
      if (i + 1 >= argc) {
        fprintf(stderr, "detour: %s needs a value\n", what);
        return nullptr;
      }
      return argv[++i];
    };
    const char* v = nullptr;
    if (a == "-c" || a == "--config") {
      if (!(v = value("-c"))) return 2;
      o.configs.emplace_back(v);
    } else if (a == "-H" || a == "--header") {
      if (!(v = value("-H"))) return 2;
      o.headers.emplace_back(v);
    } else if (a == "--flag") {
      if (!(v = value("--flag"))) return 2;
      if (!parseFlagArg(v, o)) {
        fprintf(stderr, "detour: --flag takes NAME=true or NAME=false\n");
        return 2;
      }
    } else if (a == "--pool-down") {
      if (!(v = value("--pool-down"))) return 2;
      o.pools_down.emplace_back(v);
    } else if (a == "--time") {
      if (!(v = value("--time"))) return 2;
      o.time = v;
    } else if (a == "--ready-file") {
      if (!(v = value("--ready-file"))) return 2;
      o.ready_file = v;
    } else if (a == "--replay") {
      if (!(v = value("--replay"))) return 2;
      o.replay = v;
    } else if (a == "--strict") {
      o.strict = true;
    } else if (a == "--no-watch") {
      o.watch = false;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--version" || a == "-V") {
      puts(kVersion);
      exit(0);
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      exit(0);
    } else if (a.size() > 1 && a[0] == '-') {
      fprintf(stderr, "detour: unknown option '%s'\n", a.c_str());
      return 2;
    } else {
      o.args.push_back(a);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  detour::CliOptions opts;
  if (int rc = parseArgs(argc, argv, opts); rc != 0) {
    if (!opts.command.empty() && !isCommand(opts.command)) return rc;  // already explained
    usage(stderr);
    return rc;
  }
  if (opts.command.empty()) opts.command = "run";
  if (opts.configs.empty()) {
    fprintf(stderr, "detour: -c FILE is required\n");
    usage(stderr);
    return 2;
  }
  if (opts.command == "run") return detour::runServerCommand(opts);
  if (opts.command == "check") return detour::runCheckCommand(opts);
  if (opts.command == "explain") return detour::runExplainCommand(opts);
  if (opts.command == "test") return detour::runTestCommand(opts);
  return detour::runDiffCommand(opts);  // parseArgs accepted only the commands above
}
