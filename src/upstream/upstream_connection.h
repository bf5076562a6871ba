#pragma once

// One TCP connection to a backend. While leased it belongs to a Forwarder, which handles its
// SocketIo's events; while idle it belongs to its Backend's idle list and handles them itself:
// any byte, EOF or error while idle means the backend closed it (or broke the protocol), and
// the connection leaves the list.

#include <cstdint>
#include <memory>

#include "common/libevent_ptr.h"
#include "common/net_address.h"
#include "http/parser.h"
#include "server/deadline_timer.h"
#include "server/event_loop.h"
#include "server/socket_io.h"

namespace detour {

class Backend;

class UpstreamConnection final : public Deletable, private SocketIo::Handler {
 public:
  // Starts a non-blocking connect to `addr` (writes queue until connected; the outcome reaches
  // whoever handles the SocketIo then). Returns null when the connect fails at once (no
  // socket, no route, bad address).
  static std::unique_ptr<UpstreamConnection> connect(EventLoop& loop, Backend& backend,
                                                     const SocketAddress& addr);
  ~UpstreamConnection() override;

  SocketIo& io() const { return *io_; }
  // While idle in its backend's list, the connection handles its own events.
  void watchWhileIdle() { io_->setHandler(this); }
  Backend& backend() const { return *backend_; }
  Http1Parser& parser() { return *parser_; }
  // True once the TCP connect completed.
  bool connected() const { return io_->connected(); }
  // Exchanges completed on this connection.
  uint64_t uses() const { return uses_; }
  void countUse() { ++uses_; }
  // Without blocking: true when the backend has closed (or reset) an idle connection, or sent
  // bytes nobody asked for (a MSG_PEEK recv). Used before reusing it.
  bool looksClosed() const;

  // Idle since loop iteration `iteration`, at `time_us` (EventLoop::iteration(),
  // cachedTimeUs()). Backend only.
  void markIdle(uint64_t iteration, int64_t time_us) {
    idle_iteration_ = iteration;
    idle_since_us_ = time_us;
  }
  // Whether a close by the backend could be waiting unseen on this idle connection in
  // iteration `now_iteration` at `now_us`, so that a request that cannot be sent twice must
  // check it first (looksClosed). Not when it went idle in an earlier iteration less than
  // kUnseenCloseAfterUs ago: a close that came before this iteration's poll is reported by it,
  // and a request's bytes leave at the iteration's flush, after every callback of the poll, so
  // the forwarder sees the close with nothing sent and moves the request to a fresh
  // connection. But a close may sit unread behind the last response read in this iteration;
  // and a backend's own keep-alive timeout closes connections idle for longer: those are
  // checked.
  bool closeMayBeUnseen(uint64_t now_iteration, int64_t now_us) const {
    return idle_iteration_ == now_iteration || now_us - idle_since_us_ >= kUnseenCloseAfterUs ||
           now_us < idle_since_us_;
  }
  static constexpr int64_t kUnseenCloseAfterUs = 1000000;
  uint64_t idleIteration() const { return idle_iteration_; }

  // Idle-list bookkeeping (Backend only).
  std::unique_ptr<DeadlineTimer>& idleTimer() { return idle_timer_; }

 private:
  UpstreamConnection() = default;
  // SocketIo::Handler, while idle
  void onSocketReadable() override;
  void onSocketDrained() override {}
  void onSocketEof() override;
  void onSocketError(int err, bool timeout) override;

  Backend* backend_ = nullptr;
  std::unique_ptr<SocketIo> io_;
  std::unique_ptr<Http1Parser> parser_;
  std::unique_ptr<DeadlineTimer> idle_timer_;  // made the first time it goes idle
  uint64_t uses_ = 0;
  uint64_t idle_iteration_ = 0;
  int64_t idle_since_us_ = 0;
};

}  // namespace detour
