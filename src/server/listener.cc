#include "server/listener.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace detour {

Result<int> openListeningSocket(const SocketAddress& addr, int backlog) {
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error("socket(" + addr.toString() + "): " + strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (addr.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, addr.sockaddrPtr(), addr.length) != 0 || listen(fd, backlog) != 0) {
    std::string err = "cannot listen on " + addr.toString() + ": " + strerror(errno);
    close(fd);
    return Status::error(err);
  }
  return fd;
}

SocketAddress boundAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

}  // namespace detour
