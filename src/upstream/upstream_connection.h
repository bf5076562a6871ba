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
  // bytes nobody asked for. Used before reusing it.
  bool looksClosed() const;

  // Idle-list bookkeeping (Backend only).
  EventPtr& idleTimer() { return idle_timer_; }

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
  EventPtr idle_timer_;
  uint64_t uses_ = 0;
};

}  // namespace detour
