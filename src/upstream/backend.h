#pragma once

// A backend as one worker sees it: its address, its idle keep-alive connections, and how many
// exchanges it has in flight (for least_conn). Loop thread only.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/net_address.h"
#include "routing/runtime_state.h"
#include "upstream/upstream_connection.h"

namespace detour {

class EventLoop;

class Backend {
 public:
  // `cell` is the backend's shared health cell (RuntimeState); it outlives the backend.
  Backend(EventLoop& loop, std::string pool, std::string name, const SocketAddress& addr,
          BackendCell* cell);
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  const std::string& name() const { return name_; }  // "host:port" as configured
  const std::string& pool() const { return pool_; }
  // Healthy as the health checker last said (one relaxed load).
  bool up() const { return cell_->up.load(std::memory_order_relaxed); }
  BackendCell* cell() const { return cell_; }
  const SocketAddress& address() const { return addr_; }

  // An idle connection, or null. Connections holding unread bytes are dropped on the way. With
  // `probe` (a request that cannot be sent twice), the most recent one whose close cannot have
  // gone unseen is preferred, and one whose close could have (UpstreamConnection::
  // closeMayBeUnseen) is checked with a MSG_PEEK recv first. Without it, the caller must be
  // able to send its request again if the connection turns out closed.
  std::unique_ptr<UpstreamConnection> takeIdle(bool probe);
  // A new connection (connect in progress), or null when no socket could be made.
  std::unique_ptr<UpstreamConnection> connectNew();
  // Returns a connection after a complete exchange: kept idle while fewer than `max_idle`
  // are, else closed.
  void release(std::unique_ptr<UpstreamConnection> conn, size_t max_idle,
               std::chrono::milliseconds idle_timeout);
  size_t idleCount() const { return idle_.size(); }
  // Closes an idle connection (the backend closed it, or its idle time ran out).
  void dropIdle(UpstreamConnection* conn);

  // Exchanges in flight on this backend (this worker).
  int active() const { return active_; }
  void addActive(int delta) { active_ += delta; }

 private:
  static void onIdleTimerCb(void* ctx);

  EventLoop& loop_;
  std::string pool_;
  std::string name_;
  BackendCell* cell_;
  SocketAddress addr_;
  std::vector<std::unique_ptr<UpstreamConnection>> idle_;  // most recently used last
  int active_ = 0;
};

}  // namespace detour
