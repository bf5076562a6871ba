#pragma once

// A Worker is one event-loop thread with its own listening sockets (SO_REUSEPORT), its own
// connections and its own reference to the current ConfigSnapshot. Nothing on the request path
// takes a lock: cross-thread changes arrive as functions posted to the loop.

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "admin/stats.h"
#include "common/libevent_ptr.h"
#include "routing/runtime_state.h"
#include "server/config_snapshot.h"
#include "server/event_loop.h"
#include "http/parser.h"
#include "server/listener.h"
#include "upstream/pool.h"

namespace detour {

class DownstreamConnection;

// Counters a worker keeps for itself; summed by the admin API. Written by the worker thread,
// read by any thread (relaxed atomics, one writer).
struct WorkerCounters {
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_open{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> parse_errors{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
};

// What a worker shares with the rest of the process.
struct WorkerContext {
  std::shared_ptr<RuntimeState> state;
  // Passive health: a request to (pool, backend) failed, or succeeded after failures. Called on
  // the worker thread; the callee must hand it to the main thread.
  std::function<void(const std::string& pool, const std::string& backend, bool ok)> report_backend;
};

class Worker {
 public:
  Worker(int index, WorkerContext context);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Adopts a listening socket (the worker closes it). Before start(), or from any thread
  // while running (the listener is added on the loop). `key` names it for removeListener().
  void addListener(int fd, const ListenerInfo& info, const std::string& key);
  // Closes the listener added under `key`. Any thread.
  void removeListener(const std::string& key);
  // Starts the thread, serving with `snapshot`.
  void start(std::shared_ptr<const ConfigSnapshot> snapshot);
  // Makes `snapshot` the one new exchanges use. Any thread.
  void publish(std::shared_ptr<const ConfigSnapshot> snapshot);
  // Graceful stop: close the listeners and idle connections, let exchanges in flight finish
  // (with Connection: close), then end the loop. Any thread.
  void drain();
  // Hard stop: close every connection and end the loop. Any thread.
  void stopNow();
  // Waits for the thread to end.
  void join();
  // Connections currently open (any thread).
  uint64_t openConnections() const { return counters_.connections_open.load(); }

  // --- loop thread only ---
  EventLoop& loop() { return loop_; }
  int index() const { return index_; }
  const ConfigSnapshot& snapshot() const { return *snapshot_; }
  const std::shared_ptr<const ConfigSnapshot>& snapshotPtr() const { return snapshot_; }
  bool draining() const { return draining_; }
  WorkerCounters& counters() { return counters_; }
  WorkerStats& stats() { return stats_; }
  // The counters of `rule` of `snap` (cached by rule id for the current snapshot, so one
  // vector lookup per request; an exchange that outlived a reload takes the slower lookup by
  // name). No lock either way.
  RuleStats& ruleStats(const ConfigSnapshot& snap, const CompiledRule& rule);
  // An upstream exchange on `backend` failed with `error` (counted, and reported to the health
  // checker), or succeeded (error empty).
  void upstreamResult(Backend& backend, std::optional<UpstreamError> error);
  // "Date: ...\r\n", refreshed once a second.
  std::string_view dateLine();
  // A request parser for the current snapshot's limits, from this worker's pool (idle
  // keep-alive connections hold none). Give it back with returnParser() between requests.
  std::unique_ptr<Http1Parser> takeParser();
  void returnParser(std::unique_ptr<Http1Parser> parser);
  // Writes a new random request id (32 hex digits) into `out`, reusing its storage.
  void newRequestId(std::string& out);
  // Whether an upstream failure may be logged now: at most kUpstreamLogsPerSecond lines a
  // second per worker. A pool that is down fails every request, and each line would take the
  // application log's lock, shared by all workers; the rest are counted, and `held_back` tells
  // the next line allowed how many were left out. Loop thread.
  bool allowUpstreamLog(uint64_t& held_back);
  static constexpr int kUpstreamLogsPerSecond = 10;
  // This worker's view of pool `name` for the current snapshot (backends keep their idle
  // connections across reloads while their address stays). Null for an unknown pool.
  // Exchanges hold the shared_ptr, so a reload never frees a pool under them.
  std::shared_ptr<Pool> pool(const std::string& name);
  // Called by a connection that has closed: the worker forgets it and deletes it later.
  void connectionClosed(DownstreamConnection* conn);
  // Called when a connection becomes idle between exchanges (for drain).
  void connectionIdle(DownstreamConnection* conn);

 private:
  struct ListenerSlot {
    ListenerPtr listener;
    std::shared_ptr<const ListenerInfo> info;  // shared with its connections
    std::string key;
    Worker* worker = nullptr;
    EventPtr resume;  // re-enables accepting after a pause for lack of descriptors
  };
  void adoptListener(int fd, const ListenerInfo& info, const std::string& key);
  void adoptSnapshot(std::shared_ptr<const ConfigSnapshot> snapshot);
  static void onAcceptCb(evconnlistener*, evutil_socket_t fd, sockaddr* sa, int len, void* ctx);
  static void onAcceptErrorCb(evconnlistener* lev, void* ctx);
  static void onResumeAcceptCb(evutil_socket_t, short, void* ctx);
  void onAcceptError(ListenerSlot& slot);
  void onAccept(ListenerSlot& slot, evutil_socket_t fd, sockaddr* sa, int len);
  void beginDrain();
  void maybeFinishDrain();

  int index_;
  EventLoop loop_;
  std::thread thread_;
  std::vector<std::unique_ptr<ListenerSlot>> listeners_;
  struct PendingListener {
    int fd;
    ListenerInfo info;
    std::string key;
  };
  std::vector<PendingListener> pending_fds_;
  bool started_ = false;
  std::shared_ptr<const ConfigSnapshot> snapshot_;
  // Open client connections; each knows its index here (swap-and-pop removal), which costs
  // an idle connection 8 bytes instead of a hash node.
  std::vector<std::unique_ptr<DownstreamConnection>> connections_;
  bool draining_ = false;
  bool stopped_ = false;
  uint64_t next_connection_id_ = 1;
  WorkerCounters counters_;
  long long date_second_ = -1;
  long long accept_warned_second_ = -1;
  long long upstream_log_second_ = -1;
  int upstream_logs_this_second_ = 0;
  uint64_t upstream_logs_held_back_ = 0;
  std::string date_line_;
  std::mt19937_64 rng_;
  WorkerContext context_;
  WorkerStats stats_;
  std::vector<std::unique_ptr<Http1Parser>> parser_pool_;
  uint64_t parser_pool_generation_ = 0;
  std::vector<RuleStats*> rule_stats_;  // by rule id of snapshot_'s table
  std::unordered_map<std::string, std::shared_ptr<Pool>> pools_;
  uint64_t pools_generation_ = 0;
  // Backends by "name|address", shared by the pools of successive snapshots.
  std::unordered_map<std::string, std::shared_ptr<Backend>> backends_;
};

}  // namespace detour
