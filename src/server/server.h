#pragma once

// Server wires the process together: the config store, the runtime state, the worker threads
// and the main thread's loop, which handles signals (HUP reload, TERM/INT drain, USR1 reopen
// logs). One per process.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "admin/admin_server.h"
#include "common/status.h"
#include "routing/runtime_state.h"
#include "server/config_snapshot.h"
#include "server/config_watch.h"
#include "server/event_loop.h"
#include "server/worker.h"
#include "upstream/health_checker.h"

namespace detour {

struct ServerOptions {
  std::string config_path;
  // Reload when the config file (or its folder) changes, as well as on SIGHUP.
  bool watch_config = true;
  // When set, the bound listener addresses are written here (one "listen ADDR" line each,
  // then "ready") once the server accepts connections. For tests and supervisors.
  std::string ready_file;
};

class Server final : public AdminModel {
 public:
  ~Server() override;

  // Loads the config at options.config_path and opens every listener. Errors (config or
  // sockets) are returned with their messages; diagnostics are also logged.
  static Result<std::unique_ptr<Server>> create(const ServerOptions& options);

  // Runs until SIGTERM/SIGINT (or requestStop) and a drain; returns the exit code. Main thread.
  int run();
  // Asks run() to drain and return. Any thread.
  void requestStop();
  // Reloads the config file now; returns false (and changes nothing) when it is invalid.
  // Main thread.
  bool reload();

  // The bound address of every traffic listener, in config order.
  const std::vector<SocketAddress>& boundAddresses() const { return bound_; }

  // AdminModel (main thread)
  std::shared_ptr<const ConfigSnapshot> currentSnapshot() const override { return snapshot_; }
  bool ready() const override { return running_ && !draining_; }
  MetricsInput metrics() const override;
  std::vector<HealthChecker::BackendStatus> backendStatus() const override;
  std::vector<std::pair<std::string, bool>> flagValues() const override;
  bool setFlag(const std::string& name, bool value, const std::string& peer) override;

 private:
  Server() = default;
  Status openListeners(const Config& cfg);
  // Opens listeners the new config adds (all workers) and closes those it drops. Returns an
  // error, and changes nothing, when a new listener cannot be opened.
  Status reconcileListeners(const Config& cfg);
  // Opens `l` on every worker. With `check_free`, first refuses an address another process
  // already listens on (SO_REUSEPORT would otherwise let us share it silently).
  Status openListener(const ListenerConfig& l, bool check_free);
  Status openAdmin(const Config& cfg);
  void reportBackend(const std::string& pool, const std::string& backend, bool ok);
  void writeReadyFile();
  void startDrain();
  void onDrainTimeout();
  static void onSignalCb(evutil_socket_t sig, short, void* ctx);
  static void onDrainCheckCb(evutil_socket_t, short, void* ctx);
  void onSignal(int sig);

  ServerOptions options_;
  std::shared_ptr<RuntimeState> state_ = std::make_shared<RuntimeState>();
  std::shared_ptr<const ConfigSnapshot> snapshot_;
  uint64_t generation_ = 0;
  std::unique_ptr<EventLoop> main_loop_;
  std::vector<EventPtr> signal_events_;
  EventPtr drain_check_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<SocketAddress> bound_;
  // Open traffic listeners by their configured text ("0.0.0.0:8080"), with the bound address.
  std::vector<std::pair<std::string, SocketAddress>> listeners_;
  std::unique_ptr<ConfigWatch> watch_;
  bool draining_ = false;
  bool running_ = false;
  std::unique_ptr<HealthChecker> health_;
  std::unique_ptr<AdminServer> admin_;
  uint64_t reloads_ok_ = 0;
  uint64_t reloads_failed_ = 0;
  std::map<std::string, uint64_t> flag_changes_;
  std::chrono::steady_clock::time_point drain_deadline_;
};

}  // namespace detour
