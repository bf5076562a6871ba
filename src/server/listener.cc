#include "server/listener.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace detour {

Result<int> openListeningSocket(const SocketAddress& addr, int backlog, bool reuse_port) {
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error("socket(" + addr.toString() + "): " + strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (addr.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, addr.sockaddrPtr(), addr.length) != 0 || listen(fd, backlog) != 0) {
    std::string err = "cannot listen on " + addr.toString() + ": " + strerror(errno);
    close(fd);
    return Status::error(err);
  }
  return fd;
}

Status checkAddressFree(const SocketAddress& addr) {
  if (addr.port() == 0) return Status::ok();
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error("socket(" + addr.toString() + "): " + strerror(errno));
  // SO_REUSEADDR only lets the probe past connections in TIME_WAIT (a quick restart), never
  // past a listener.
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  int rc = bind(fd, addr.sockaddrPtr(), addr.length);
  int err = errno;
  close(fd);
  if (rc == 0) return Status::ok();
  if (err == EADDRINUSE) {
    return Status::error("cannot listen on " + addr.toString() +
                         ": the address is already in use (another process, perhaps another "
                         "detour, listens there): stop it or choose another address");
  }
  return Status::error("cannot listen on " + addr.toString() + ": " + strerror(err));
}

SocketAddress boundAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

}  // namespace detour
