#pragma once

// The subcommands of the detour executable (contract §1). Each returns the process exit code
// and prints to stdout/stderr. main.cc only parses argv and calls one of these.

#include <string>
#include <utility>
#include <vector>

namespace detour {

struct CliOptions {
  std::string command;  // run | check | explain | test | diff
  std::vector<std::string> configs;  // -c FILE (diff takes two)
  std::vector<std::string> args;     // positional arguments after the command
  std::vector<std::string> headers;  // explain: -H 'Name: value'
  std::vector<std::pair<std::string, bool>> flags;  // explain: --flag NAME=true|false
  std::vector<std::string> pools_down;              // explain: --pool-down NAME
  std::string time;         // explain: --time RFC3339 (default: now)
  std::string ready_file;   // run: --ready-file PATH
  std::string replay;       // diff: --replay ACCESS_LOG
  bool strict = false;      // check: --strict
  bool json = false;        // explain/diff: --json
  bool watch = true;        // run: --no-watch turns the config file watch off
};

int runServerCommand(const CliOptions& opts);
int runCheckCommand(const CliOptions& opts);
int runExplainCommand(const CliOptions& opts);
int runTestCommand(const CliOptions& opts);
int runDiffCommand(const CliOptions& opts);

}  // namespace detour
