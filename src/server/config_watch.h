#pragma once

// Watches a config file for changes with inotify, on the main thread's loop. It watches the
// file's folder, not just the file: editors replace files by rename, and a Kubernetes
// ConfigMap volume swaps a `..data` symlink to a new timestamped folder, which changes what
// the path resolves to without touching the old file. Bursts of events are debounced, and the
// callback runs only when the file's content really changed.

#include <chrono>
#include <functional>
#include <string>

#include "common/libevent_ptr.h"
#include "common/status.h"
#include "server/event_loop.h"

namespace detour {

class ConfigWatch {
 public:
  ~ConfigWatch();
  // Starts watching `path`; `on_change` runs on the loop's thread after `debounce` of quiet.
  static Result<std::unique_ptr<ConfigWatch>> start(EventLoop& loop, const std::string& path,
                                                    std::chrono::milliseconds debounce,
                                                    std::function<void()> on_change);

 private:
  ConfigWatch() = default;
  static void onInotifyCb(evutil_socket_t fd, short, void* ctx);
  static void onDebounceCb(evutil_socket_t, short, void* ctx);
  void onInotify();
  void onDebounce();
  std::string contentHash() const;

  std::string path_;
  std::string dir_;
  int fd_ = -1;
  EventPtr inotify_event_;
  EventPtr debounce_;
  std::chrono::milliseconds debounce_time_{200};
  std::function<void()> on_change_;
  std::string last_hash_;
};

}  // namespace detour
