#pragma once

// Listening sockets. Each worker gets its own socket per configured traffic address, bound
// with SO_REUSEPORT so the kernel spreads connections across workers without a shared accept
// lock. The admin socket is one, without SO_REUSEPORT: nothing else may share its address.

#include <memory>
#include <string>
#include <vector>

#include "common/libevent_ptr.h"
#include "common/net_address.h"
#include "common/status.h"

namespace detour {

// What a connection needs to know about the listener it arrived on.
struct ListenerInfo {
  SocketAddress address;  // bound address (the real port, also when configured as 0)
  bool tls = false;
};

// Opens a non-blocking listening socket on `addr` with SO_REUSEADDR and, when `reuse_port`
// (one socket per worker), SO_REUSEPORT. Returns the fd, or an error naming the address and
// errno.
Result<int> openListeningSocket(const SocketAddress& addr, int backlog, bool reuse_port);

// Checks that nobody listens on `addr` yet (another process, say a second detour: with
// SO_REUSEPORT the kernel would let both bind and split the connections between them). It
// binds a probe socket without SO_REUSEPORT and closes it. Port 0 always passes. Returns an
// error naming the address when it is taken.
Status checkAddressFree(const SocketAddress& addr);

// The address a socket is bound to (getsockname).
SocketAddress boundAddress(int fd);

}  // namespace detour
