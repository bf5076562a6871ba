#include "server/config_watch.h"

#include <limits.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

#include "logging/logging.h"

namespace detour {
namespace {

constexpr uint32_t kFolderEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                   IN_DELETE | IN_ATTRIB | IN_MODIFY | IN_DELETE_SELF |
                                   IN_MOVE_SELF;
// As the kernel does (ELOOP): a cycle of links ends the walk.
constexpr int kMaxLinks = 40;

std::deque<std::string> splitPath(const std::string& path) {
  std::deque<std::string> parts;
  size_t at = 0;
  while (at <= path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    if (slash > at) parts.push_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  return parts;
}

std::string absolutePath(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

std::string folderName(const std::string& resolved) { return resolved.empty() ? "/" : resolved; }

timeval toTimeval(std::chrono::steady_clock::duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  if (us < 0) us = 0;
  return timeval{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

}  // namespace

std::map<std::string, std::set<std::string>> configWatchTargets(const std::string& path) {
  std::map<std::string, std::set<std::string>> targets;
  std::deque<std::string> rest = splitPath(absolutePath(path));
  std::string resolved;  // the real folder walked so far ("" = /)
  bool first = true;     // the path's own last component not reached yet through a link
  int links = 0;
  while (!rest.empty()) {
    std::string name = rest.front();
    rest.pop_front();
    if (name == ".") continue;
    if (name == "..") {
      resolved = resolved.substr(0, resolved.rfind('/') == std::string::npos ? 0 : resolved.rfind('/'));
      continue;
    }
    std::string next = resolved + "/" + name;
    if (rest.empty() && first) {
      // A ConfigMap volume: the path's folder holds `..data`, swapped by rename on update.
      targets[folderName(resolved)].insert("..data");
      first = false;
    }
    struct stat st{};
    if (lstat(next.c_str(), &st) == 0 && S_ISLNK(st.st_mode) && links < kMaxLinks) {
      ++links;
      targets[folderName(resolved)].insert(name);
      std::vector<char> buf(PATH_MAX);
      ssize_t n = readlink(next.c_str(), buf.data(), buf.size() - 1);
      if (n <= 0) break;
      std::string target(buf.data(), static_cast<size_t>(n));
      std::deque<std::string> parts = splitPath(target);
      rest.insert(rest.begin(), parts.begin(), parts.end());
      if (target[0] == '/') resolved.clear();
      continue;
    }
    if (rest.empty()) targets[folderName(resolved)].insert(name);  // the file itself
    resolved = next;
  }
  return targets;
}

ConfigWatch::~ConfigWatch() {
  inotify_event_.reset();
  debounce_.reset();
  if (fd_ >= 0) close(fd_);
}

Result<std::unique_ptr<ConfigWatch>> ConfigWatch::start(EventLoop& loop, const std::string& path,
                                                        std::chrono::milliseconds debounce,
                                                        std::chrono::milliseconds max_delay,
                                                        std::function<void()> on_change) {
  std::unique_ptr<ConfigWatch> w(new ConfigWatch());
  w->path_ = path;
  w->debounce_time_ = debounce;
  w->max_delay_ = std::max(max_delay, debounce);
  w->on_change_ = std::move(on_change);
  w->fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (w->fd_ < 0) return Status::error(std::string("inotify: ") + strerror(errno));
  // The path's own folder must be watchable; the others are best effort (re-tried on change).
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  if (inotify_add_watch(w->fd_, dir.c_str(), kFolderEvents) < 0) {
    return Status::error("inotify: cannot watch " + dir + ": " + strerror(errno));
  }
  w->rewatch();
  w->last_hash_ = w->contentHash();
  w->inotify_event_.reset(
      event_new(loop.base(), w->fd_, EV_READ | EV_PERSIST, &ConfigWatch::onInotifyCb, w.get()));
  event_add(w->inotify_event_.get(), nullptr);
  w->debounce_.reset(evtimer_new(loop.base(), &ConfigWatch::onDebounceCb, w.get()));
  return w;
}

void ConfigWatch::rewatch() {
  std::map<int, std::set<std::string>> next;
  for (const auto& [folder, names] : configWatchTargets(path_)) {
    int wd = inotify_add_watch(fd_, folder.c_str(), kFolderEvents);
    if (wd < 0) continue;  // gone (a swap in progress): the next event resolves again
    next[wd].insert(names.begin(), names.end());
  }
  for (const auto& [wd, names] : watches_) {
    if (next.count(wd) == 0) inotify_rm_watch(fd_, wd);
  }
  watches_ = std::move(next);
}

void ConfigWatch::onInotifyCb(evutil_socket_t, short, void* ctx) {
  static_cast<ConfigWatch*>(ctx)->onInotify();
}

void ConfigWatch::onDebounceCb(evutil_socket_t, short, void* ctx) {
  static_cast<ConfigWatch*>(ctx)->onDebounce();
}

void ConfigWatch::onInotify() {
  alignas(inotify_event) char buf[8192];
  bool relevant = false;
  ssize_t n;
  while ((n = read(fd_, buf, sizeof buf)) > 0) {
    for (ssize_t at = 0; at < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {
        relevant = true;  // events were lost: any of them may have been ours
        continue;
      }
      auto it = watches_.find(ev->wd);
      if (it == watches_.end()) continue;  // a folder we stopped watching
      if (ev->len == 0) {
        relevant = true;  // the folder itself was deleted or moved (IN_*_SELF, IN_IGNORED)
      } else if (it->second.count(ev->name) != 0) {
        relevant = true;
      }
    }
  }
  if (!relevant) return;
  rewatch();  // a link may now point elsewhere
  schedule();
}

void ConfigWatch::schedule() {
  auto now = std::chrono::steady_clock::now();
  if (!pending_since_) pending_since_ = now;
  // Each event restarts the quiet period, but never past max_delay after the burst began.
  auto fire = std::min(now + debounce_time_, *pending_since_ + max_delay_);
  timeval tv = toTimeval(fire - now);
  evtimer_add(debounce_.get(), &tv);
}

void ConfigWatch::onDebounce() {
  pending_since_.reset();
  rewatch();
  std::string h = contentHash();
  if (h == last_hash_) {
    log().debug("{}: touched, content unchanged: no reload", path_);
    return;
  }
  last_hash_ = h;
  on_change_();
}

std::string ConfigWatch::contentHash() const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return "missing";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string content = ss.str();
  return std::to_string(content.size()) + ":" + std::to_string(std::hash<std::string>{}(content));
}

}  // namespace detour
