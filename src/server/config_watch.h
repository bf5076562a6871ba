#pragma once

// Watches a config file for changes with inotify, on the main thread's loop. It watches
// folders, not just the file: editors replace files by rename, and a Kubernetes ConfigMap
// volume swaps a `..data` symlink to a new timestamped folder, which changes what the path
// resolves to without touching the old file. So it follows the path's symlinks and watches
// the folder of each link met (for that link's name) and the folder of the file it resolves
// to (for its name), and follows again whenever one of them changes. Events for other names
// (an access log in the same folder) are ignored. Bursts of events are debounced, with a
// maximum delay so that a file that keeps changing is still reloaded, and the callback runs
// only when the file's content really changed.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "common/libevent_ptr.h"
#include "common/status.h"
#include "server/event_loop.h"

namespace detour {

// Where a watch on `path` must look: folder -> the names in it whose changes can change what
// `path` reads (each symlink met while resolving it, the file it resolves to, and `..data` next
// to the path itself). Folders are absolute. Pure but for lstat/readlink; never fails (a
// missing component ends the walk there).
std::map<std::string, std::set<std::string>> configWatchTargets(const std::string& path);

class ConfigWatch {
 public:
  ~ConfigWatch();
  // Starts watching `path`; `on_change` runs on the loop's thread after `debounce` of quiet
  // among the events that concern the file, or `max_delay` after the first of them at most.
  static Result<std::unique_ptr<ConfigWatch>> start(EventLoop& loop, const std::string& path,
                                                    std::chrono::milliseconds debounce,
                                                    std::chrono::milliseconds max_delay,
                                                    std::function<void()> on_change);

 private:
  ConfigWatch() = default;
  static void onInotifyCb(evutil_socket_t fd, short, void* ctx);
  static void onDebounceCb(evutil_socket_t, short, void* ctx);
  void onInotify();
  void onDebounce();
  // Resolves the path again and watches exactly the folders that now matter.
  void rewatch();
  void schedule();
  std::string contentHash() const;

  std::string path_;
  int fd_ = -1;
  // Watch descriptor -> the names that matter in its folder.
  std::map<int, std::set<std::string>> watches_;
  EventPtr inotify_event_;
  EventPtr debounce_;
  std::chrono::milliseconds debounce_time_{200};
  std::chrono::milliseconds max_delay_{1000};
  // When the first event of the burst now being debounced arrived.
  std::optional<std::chrono::steady_clock::time_point> pending_since_;
  std::function<void()> on_change_;
  std::string last_hash_;
};

}  // namespace detour
