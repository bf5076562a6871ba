#include "upstream/backend.h"

#include <algorithm>

#include "server/event_loop.h"

namespace detour {
Backend::Backend(EventLoop& loop, std::string pool, std::string name, const SocketAddress& addr,
                 BackendCell* cell)
    : loop_(loop), pool_(std::move(pool)), name_(std::move(name)), cell_(cell), addr_(addr) {}

Backend::~Backend() = default;

std::unique_ptr<UpstreamConnection> Backend::takeIdle(bool probe) {
  uint64_t iteration = loop_.iteration();
  int64_t now = loop_.cachedTimeUs();
  while (!idle_.empty()) {
    // The most recently used connection; with `probe`, the most recent one whose close cannot
    // have gone unseen, when there is one. The list is in the order connections went idle, so
    // the ones that went idle in this iteration (as other exchanges' responses ended, a
    // dozen or more per iteration under load) are its tail.
    size_t pick = idle_.size() - 1;
    if (probe) {
      for (size_t i = idle_.size(); i-- > 0;) {
        if (idle_[i]->idleIteration() != iteration) {
          if (!idle_[i]->closeMayBeUnseen(iteration, now)) pick = i;
          break;
        }
      }
    }
    std::unique_ptr<UpstreamConnection> c = std::move(idle_[pick]);
    idle_.erase(idle_.begin() + static_cast<ptrdiff_t>(pick));
    c->idleTimer()->cancel();
    c->io().setHandler(nullptr);
    if (evbuffer_get_length(c->io().input()) == 0 &&
        (!probe || !c->closeMayBeUnseen(iteration, now) || !c->looksClosed())) {
      return c;
    }
    loop_.deferredDelete(std::move(c));
  }
  return nullptr;
}

std::unique_ptr<UpstreamConnection> Backend::connectNew() {
  return UpstreamConnection::connect(loop_, *this, addr_);
}

void Backend::release(std::unique_ptr<UpstreamConnection> conn, size_t max_idle,
                      std::chrono::milliseconds idle_timeout) {
  if (idle_.size() >= max_idle) {
    loop_.deferredDelete(std::move(conn));
    return;
  }
  UpstreamConnection* raw = conn.get();
  // While idle the connection watches itself: a byte, EOF or error drops it.
  raw->io().setTimeouts(std::chrono::milliseconds(0), std::chrono::milliseconds(0));
  raw->io().setReadHighWater(0);
  raw->watchWhileIdle();
  raw->io().enableRead();
  raw->markIdle(loop_.iteration(), loop_.cachedTimeUs());
  // One timer for the connection's life, armed each time it goes idle: under load a store,
  // its libevent timer still pending from an earlier idle period (DeadlineTimer).
  if (!raw->idleTimer()) {
    raw->idleTimer() = std::make_unique<DeadlineTimer>(loop_.base(), &Backend::onIdleTimerCb, raw);
  }
  raw->idleTimer()->arm(idle_timeout);
  idle_.push_back(std::move(conn));
}

void Backend::dropIdle(UpstreamConnection* conn) {
  auto it = std::find_if(idle_.begin(), idle_.end(),
                         [&](const auto& c) { return c.get() == conn; });
  if (it == idle_.end()) return;
  conn->io().detach();
  (*it)->idleTimer().reset();
  loop_.deferredDelete(std::move(*it));
  idle_.erase(it);
}

void Backend::onIdleTimerCb(void* ctx) {
  auto* conn = static_cast<UpstreamConnection*>(ctx);
  conn->backend().dropIdle(conn);
}

}  // namespace detour
