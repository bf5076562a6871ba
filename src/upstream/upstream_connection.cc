#include "upstream/upstream_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "upstream/backend.h"

namespace detour {

std::unique_ptr<UpstreamConnection> UpstreamConnection::connect(event_base* base,
                                                                Backend& backend,
                                                                const SocketAddress& addr) {
  std::unique_ptr<UpstreamConnection> c(new UpstreamConnection());
  c->backend_ = &backend;
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->bev_.reset(bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE));
  if (!c->bev_) {
    close(fd);
    return nullptr;
  }
  ParserLimits limits;
  limits.max_head_bytes = 64 * 1024;
  c->parser_ = Http1Parser::create(Http1Parser::Kind::kResponse, limits);
  if (bufferevent_socket_connect(c->bev_.get(), addr.sockaddrPtr(),
                                 static_cast<int>(addr.length)) != 0) {
    // Immediate failure (no route, bad address): libevent leaves the bufferevent unusable
    // (its output frozen), so there is no connection to hand out.
    return nullptr;
  }
  return c;
}

UpstreamConnection::~UpstreamConnection() = default;

bool UpstreamConnection::looksClosed() const {
  if (evbuffer_get_length(bufferevent_get_input(bev_.get())) > 0) return true;
  char byte;
  ssize_t n = recv(bufferevent_getfd(bev_.get()), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;                                     // orderly close
  if (n > 0) return true;                                      // unsolicited bytes
  return !(errno == EAGAIN || errno == EWOULDBLOCK);           // reset or other error
}

}  // namespace detour
