#include "server/config_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

namespace detour {

ConfigWatch::~ConfigWatch() {
  inotify_event_.reset();
  debounce_.reset();
  if (fd_ >= 0) close(fd_);
}

Result<std::unique_ptr<ConfigWatch>> ConfigWatch::start(EventLoop& loop, const std::string& path,
                                                        std::chrono::milliseconds debounce,
                                                        std::function<void()> on_change) {
  std::unique_ptr<ConfigWatch> w(new ConfigWatch());
  w->path_ = path;
  size_t slash = path.rfind('/');
  w->dir_ = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  w->debounce_time_ = debounce;
  w->on_change_ = std::move(on_change);
  w->fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (w->fd_ < 0) return Status::error(std::string("inotify: ") + strerror(errno));
  uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                  IN_ATTRIB | IN_MODIFY;
  if (inotify_add_watch(w->fd_, w->dir_.c_str(), mask) < 0) {
    return Status::error("inotify: cannot watch " + w->dir_ + ": " + strerror(errno));
  }
  w->last_hash_ = w->contentHash();
  w->inotify_event_.reset(
      event_new(loop.base(), w->fd_, EV_READ | EV_PERSIST, &ConfigWatch::onInotifyCb, w.get()));
  event_add(w->inotify_event_.get(), nullptr);
  w->debounce_.reset(evtimer_new(loop.base(), &ConfigWatch::onDebounceCb, w.get()));
  return w;
}

void ConfigWatch::onInotifyCb(evutil_socket_t, short, void* ctx) {
  static_cast<ConfigWatch*>(ctx)->onInotify();
}

void ConfigWatch::onDebounceCb(evutil_socket_t, short, void* ctx) {
  static_cast<ConfigWatch*>(ctx)->onDebounce();
}

void ConfigWatch::onInotify() {
  alignas(inotify_event) char buf[8192];
  while (read(fd_, buf, sizeof buf) > 0) {
    // Any event in the folder may change what the path resolves to; the content hash decides.
  }
  timeval tv{static_cast<time_t>(debounce_time_.count() / 1000),
             static_cast<suseconds_t>((debounce_time_.count() % 1000) * 1000)};
  evtimer_add(debounce_.get(), &tv);  // restarts the quiet period
}

void ConfigWatch::onDebounce() {
  std::string h = contentHash();
  if (h == last_hash_) return;
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
