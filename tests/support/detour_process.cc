#include "support/detour_process.h"
#include "support/wait.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace detour::test {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "detour-test-XXXXXX").string();
  char* p = mkdtemp(tmpl.data());
  path_ = p ? p : "";
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  std::string full = path_ + "/" + name;
  std::ofstream out(full, std::ios::binary);
  out << content;
  return full;
}

std::string detourBinary() {
  const char* env = std::getenv("DETOUR_BINARY");
  return env != nullptr ? env : DETOUR_BINARY_PATH;
}

DetourProcess::DetourProcess(const std::string& config_yaml, std::vector<std::string> extra_env,
                             std::chrono::milliseconds ready_timeout,
                             std::vector<std::string> extra_args, const std::string& config_path,
                             int max_open_files) {
  config_path_ = config_path.empty() ? dir_.write("detour.yaml", config_yaml) : config_path;
  ready_path_ = dir_.path() + "/ready";
  std::string out_path = dir_.path() + "/stdout.log";
  std::string err_path = dir_.path() + "/stderr.log";
  std::string bin = detourBinary();
  pid_ = fork();
  if (pid_ == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    for (const auto& kv : extra_env) putenv(const_cast<char*>(kv.c_str()));
    if (max_open_files > 0) {
      rlimit rl{static_cast<rlim_t>(max_open_files), static_cast<rlim_t>(max_open_files)};
      setrlimit(RLIMIT_NOFILE, &rl);
    }
    std::vector<const char*> argv = {bin.c_str(), "run", "-c", config_path_.c_str(),
                                     "--ready-file", ready_path_.c_str()};
    for (const auto& a : extra_args) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    execv(bin.c_str(), const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  ready_ = waitUntil(
      [&] {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          return true;
        }
        return readFile(ready_path_).find("ready\n") != std::string::npos;
      },
      ready_timeout);
  if (pid_ < 0) ready_ = false;
  if (!ready_) {
    ADD_FAILURE() << "detour did not become ready; stderr:\n" << stderrText();
    return;
  }
  parseReadyFile();
}

std::vector<int> DetourProcess::readPorts() {
  parseReadyFile();
  return ports_;
}

void DetourProcess::parseReadyFile() {
  ports_.clear();
  std::istringstream lines(readFile(ready_path_));
  std::string word, addr;
  while (lines >> word) {
    if (word != "listen" && word != "admin") continue;
    lines >> addr;
    int p = std::stoi(addr.substr(addr.rfind(':') + 1));
    if (word == "admin") {
      admin_port_ = p;
    } else {
      ports_.push_back(p);
    }
  }
}

DetourProcess::~DetourProcess() {
  if (pid_ > 0) {
    int rc = stop(std::chrono::seconds(10));
    if (rc == -1) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      ADD_FAILURE() << "detour did not exit within 10 s of SIGTERM; stderr:\n" << stderrText();
    } else if (rc != 0) {
      ADD_FAILURE() << "detour exited with status " << rc << "; stderr:\n" << stderrText();
    }
  }
  // A sanitizer report in the child is a failure of whichever test ran it.
  std::string err = stderrText();
  for (const char* marker : {"AddressSanitizer", "LeakSanitizer", "ThreadSanitizer",
                             "UndefinedBehaviorSanitizer", "runtime error:"}) {
    if (err.find(marker) != std::string::npos) {
      ADD_FAILURE() << "sanitizer report from detour (" << marker << "):\n" << err;
      break;
    }
  }
}

std::string DetourProcess::stdoutText() const { return readFile(dir_.path() + "/stdout.log"); }
std::string DetourProcess::stderrText() const { return readFile(dir_.path() + "/stderr.log"); }

bool DetourProcess::waitForStdout(const std::string& needle,
                                  std::chrono::milliseconds timeout) const {
  return waitUntil([&] { return stdoutText().find(needle) != std::string::npos; }, timeout);
}

bool DetourProcess::waitForStderr(const std::string& needle,
                                  std::chrono::milliseconds timeout) const {
  return waitUntil([&] { return stderrText().find(needle) != std::string::npos; }, timeout);
}

void DetourProcess::signal(int sig) const {
  if (pid_ > 0) kill(pid_, sig);
}

int DetourProcess::stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  bool done = waitUntil([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
  if (!done) return -1;
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int runCommand(const std::string& cmd, std::string& out, bool merge_stderr,
               std::chrono::milliseconds timeout) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], 1);
    if (merge_stderr) dup2(pipefd[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(pipefd[1]);
  out.clear();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      break;
    }
    pollfd p{pipefd[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace detour::test
