#pragma once

// Runs the real detour binary for black-box tests: writes a config into a private temp
// folder, starts `detour run -c FILE --ready-file F`, waits (with a deadline) for the ready
// file, and reads the bound ports from it. The process is stopped by pid in the destructor.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace detour::test {

// A private temporary folder, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

class DetourProcess {
 public:
  // Starts detour on `config_yaml` (written as detour.yaml in a temp folder; use port 0 in
  // listen addresses). Fails the current test (ADD_FAILURE) when it does not become ready
  // within `ready_timeout`.
  explicit DetourProcess(const std::string& config_yaml,
                         std::vector<std::string> extra_env = {},
                         std::chrono::milliseconds ready_timeout = std::chrono::seconds(10),
                         std::vector<std::string> extra_args = {},
                         const std::string& config_path = "", int max_open_files = 0);
  ~DetourProcess();
  DetourProcess(const DetourProcess&) = delete;
  DetourProcess& operator=(const DetourProcess&) = delete;

  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }
  // The port of the i-th configured listener.
  int port(size_t i = 0) const { return ports_.at(i); }
  // Re-reads the ready file (it is rewritten after each reload); returns the listener ports.
  std::vector<int> readPorts();
  // The admin listener's port (0 when the config has none).
  int adminPort() const { return admin_port_; }
  const std::string& configPath() const { return config_path_; }
  const TempDir& dir() const { return dir_; }
  // Everything the process wrote to stdout / stderr so far.
  std::string stdoutText() const;
  std::string stderrText() const;
  // Waits until stdout contains `needle` (deadline); returns whether it did.
  bool waitForStdout(const std::string& needle, std::chrono::milliseconds timeout) const;
  bool waitForStderr(const std::string& needle, std::chrono::milliseconds timeout) const;

  // Sends a signal to the process.
  void signal(int sig) const;
  // Sends SIGTERM and waits up to `timeout` for the exit; returns the exit status (or -1).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  TempDir dir_;
  std::string config_path_;
  std::string ready_path_;
  pid_t pid_ = -1;
  bool ready_ = false;
  std::vector<int> ports_;
  int admin_port_ = 0;
  void parseReadyFile();
};

// The path of the detour binary under test.
std::string detourBinary();

// Runs a command line with /bin/sh, returns its exit status and fills `out` with stdout
// (stderr too when merge_stderr). Bounded by `timeout` (the child is killed after it).
int runCommand(const std::string& cmd, std::string& out, bool merge_stderr = false,
               std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace detour::test
