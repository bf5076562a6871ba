#pragma once

// HealthChecker: one per process, on the main thread. It owns the up/down state of every
// backend (BackendHealth), runs active HTTP probes for pools with a `health:` block, takes
// passive results (failed requests) reported by workers, and publishes the state through
// RuntimeState cells: BackendCell::up for the balancers, PoolCell::down for `pool_down` rules.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/libevent_ptr.h"
#include "common/net_address.h"
#include "config/config.h"
#include "routing/runtime_state.h"
#include "server/event_loop.h"
#include "upstream/backend_health.h"

namespace detour {

struct ConfigSnapshot;

class HealthChecker {
 public:
  // A backend that failed passively (no active checks) gets traffic again after this long.
  static constexpr std::chrono::seconds kPassiveCoolOff{10};

  HealthChecker(EventLoop& loop, RuntimeState& state);
  ~HealthChecker();

  // Follows the config: starts probes for new backends, stops those of removed ones, keeps
  // the state of backends that stay. Main thread.
  void update(const ConfigSnapshot& snap);
  // A worker's request to (pool, backend) failed (ok=false) or succeeded after failures.
  // Main thread (workers post it).
  void reportPassive(const std::string& pool, const std::string& backend, bool ok);

  struct BackendStatus {
    std::string pool;
    std::string backend;  // as configured
    std::string address;  // resolved
    bool up = true;
    bool active_checks = false;
    int consecutive_failures = 0;
    std::string last_error;    // of the last failed check or request; empty when none
    int64_t last_change_ms = 0;  // when the state last changed (Unix ms; 0 = never)
  };
  // Every backend, by pool then config order. Main thread.
  std::vector<BackendStatus> status() const;
  // State changes since start (for /metrics). Main thread.
  uint64_t transitions() const { return transitions_; }

 private:
  struct Entry;
  class Probe;
  static void onTimerCb(evutil_socket_t, short, void* ctx);
  void onTimer(Entry& e);
  void startProbe(Entry& e);
  void finishProbe(Entry& e, bool ok, const std::string& why);
  void record(Entry& e, bool ok, const std::string& why);
  void publishPool(const std::string& pool);
  void armTimer(Entry& e, std::chrono::milliseconds after);

  EventLoop& loop_;
  RuntimeState& state_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;  // "pool|backend"
  std::vector<std::string> order_;                          // keys in config order
  uint64_t transitions_ = 0;
};

}  // namespace detour
