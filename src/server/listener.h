#pragma once

// Listening sockets. Each worker gets its own socket per configured address, bound with
// SO_REUSEPORT so the kernel spreads connections across workers without a shared accept lock.

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

// Opens a non-blocking listening socket on `addr` with SO_REUSEADDR and SO_REUSEPORT.
// Returns the fd, or an error naming the address and errno.
Result<int> openListeningSocket(const SocketAddress& addr, int backlog);

// The address a socket is bound to (getsockname).
SocketAddress boundAddress(int fd);

}  // namespace detour
