#pragma once

// One TCP connection to a backend. While leased it belongs to a Forwarder, which sets the
// bufferevent's callbacks; while idle it belongs to its Backend's idle list, which watches it
// for the backend closing it and for the idle timeout.

#include <cstdint>
#include <memory>

#include "common/libevent_ptr.h"
#include "common/net_address.h"
#include "http/parser.h"
#include "server/event_loop.h"

namespace detour {

class Backend;

class UpstreamConnection final : public Deletable {
 public:
  // Starts a non-blocking connect to `addr`. The bufferevent exists at once (writes queue until
  // connected); connect errors arrive as BEV_EVENT_ERROR on whoever holds the callbacks.
  // Returns null when the connect fails at once (no socket, no route, bad address).
  static std::unique_ptr<UpstreamConnection> connect(event_base* base, Backend& backend,
                                                     const SocketAddress& addr);
  ~UpstreamConnection() override;

  bufferevent* bev() const { return bev_.get(); }
  Backend& backend() const { return *backend_; }
  Http1Parser& parser() { return *parser_; }
  // True once the TCP connect completed.
  bool connected() const { return connected_; }
  void setConnected() { connected_ = true; }
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
  Backend* backend_ = nullptr;
  BufferEventPtr bev_;
  std::unique_ptr<Http1Parser> parser_;
  EventPtr idle_timer_;
  bool connected_ = false;
  uint64_t uses_ = 0;
};

}  // namespace detour
