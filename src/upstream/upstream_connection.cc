#include "upstream/upstream_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "upstream/backend.h"

namespace detour {

std::unique_ptr<UpstreamConnection> UpstreamConnection::connect(EventLoop& loop,
                                                                Backend& backend,
                                                                const SocketAddress& addr) {
  std::unique_ptr<UpstreamConnection> c(new UpstreamConnection());
  c->backend_ = &backend;
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->io_ = std::make_unique<SocketIo>(loop, fd, nullptr);
  ParserLimits limits;
  limits.max_head_bytes = 64 * 1024;
  c->parser_ = Http1Parser::create(Http1Parser::Kind::kResponse, limits);
  if (!c->io_->connect(addr.sockaddrPtr(), addr.length)) return nullptr;
  return c;
}

UpstreamConnection::~UpstreamConnection() = default;

void UpstreamConnection::onSocketReadable() { backend_->dropIdle(this); }
void UpstreamConnection::onSocketEof() { backend_->dropIdle(this); }
void UpstreamConnection::onSocketError(int, bool) { backend_->dropIdle(this); }

bool UpstreamConnection::looksClosed() const {
  if (evbuffer_get_length(io_->input()) > 0) return true;
  char byte;
  ssize_t n = recv(io_->fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;                                     // orderly close
  if (n > 0) return true;                                      // unsolicited bytes
  return !(errno == EAGAIN || errno == EWOULDBLOCK);           // reset or other error
}

}  // namespace detour
