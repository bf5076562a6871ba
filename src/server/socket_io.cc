#include "server/socket_io.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace detour {
namespace {

// libevent allocates a chain as its header (48 bytes on 64-bit) plus the space asked for,
// rounded up to a power of two: asking for exactly 16 KiB would cost a 32 KiB block. The read
// sizes leave room for the header, so each read's chain is one block of the size named, and
// the thread's buffer pool (common/buffer_pool.cc) serves it.
constexpr size_t kChainHeader = 64;
// One recv() takes up to this much once reads keep filling their space: large enough that a
// streamed body costs few syscalls (8 recv per MiB), small enough that a slow consumer's input
// stays near its watermark (Forwarder::kHighWater, 256 KiB). Exchanges of small messages read
// at most kMinRead at a time: a large chain allocated and freed per request made glibc trim
// its heap (a madvise) every few requests.
constexpr size_t kReadChunk = 128 * 1024 - kChainHeader;
constexpr size_t kMinRead = 16 * 1024 - kChainHeader;

timeval toTimeval(std::chrono::milliseconds d) {
  return timeval{static_cast<time_t>(d.count() / 1000),
                 static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

}  // namespace

SocketIo::SocketIo(EventLoop& loop, evutil_socket_t fd, Handler* handler)
    : loop_(loop), fd_(fd), handler_(handler), input_(evbuffer_new()), output_(evbuffer_new()) {
  evutil_make_socket_nonblocking(fd_);
  event_assign(&read_ev_, loop.base(), fd_, EV_READ | EV_PERSIST, &SocketIo::onReadCb, this);
  updateReadEvent();
}

SocketIo::~SocketIo() {
  if (flush_scheduled_) loop_.flushQueue().remove(this);
  event_del(&read_ev_);
  write_ev_.reset();
  if (fd_ >= 0) close(fd_);
}

bool SocketIo::connect(const sockaddr* addr, socklen_t len) {
  connected_ = false;
  connecting_ = true;
  updateReadEvent();
  if (::connect(fd_, addr, len) != 0 && errno != EINPROGRESS) {
    connecting_ = false;
    return false;
  }
  // Done or in progress: either way the write event says when (and how) it ended.
  armWrite();
  return true;
}

void SocketIo::enableRead() {
  read_enabled_ = true;
  updateReadEvent();
}

void SocketIo::disableRead() {
  read_enabled_ = false;
  updateReadEvent();
}

void SocketIo::resumeReadIfDrained() {
  if (read_paused_ && (read_high_water_ == 0 || evbuffer_get_length(input_.get()) < read_high_water_)) {
    read_paused_ = false;
    updateReadEvent();
  }
}

// The read timeout is a DeadlineTimer beside the read event, not the event's own timeout:
// libevent re-arms a persistent event's timeout on every read (an event_add per response
// read), where the DeadlineTimer's re-arm is a store. The write timeout stays on the write
// event, which is armed only when the kernel does not take a write whole.
void SocketIo::setTimeouts(std::chrono::milliseconds read, std::chrono::milliseconds write) {
  bool had_write = write_timeout_.count() > 0;
  read_timeout_ = read;
  write_timeout_ = write;
  if (read.count() > 0 && !read_timer_) {
    read_timer_ = std::make_unique<DeadlineTimer>(loop_.base(), &SocketIo::onReadTimeoutCb, this);
  }
  if (read_added_ && read.count() > 0) {
    read_timer_->arm(read);
  } else if (read_timer_) {
    read_timer_->cancel();
  }
  // A pending event keeps its timer through an event_add() without one: taking the write
  // timeout away needs event_remove_timer().
  if (write_armed_) {
    if (write.count() > 0) {
      timeval tv = toTimeval(write);
      event_add(write_ev_.get(), &tv);
    } else if (had_write) {
      event_remove_timer(write_ev_.get());
    }
  }
}

void SocketIo::updateReadEvent() {
  bool want = read_enabled_ && !read_paused_ && connected_ && !detached_;
  if (want && !read_added_) {
    event_add(&read_ev_, nullptr);
    if (read_timeout_.count() > 0) read_timer_->arm(read_timeout_);
    read_added_ = true;
  } else if (!want && read_added_) {
    event_del(&read_ev_);
    if (read_timer_) read_timer_->cancel();  // paused with reading; runs anew when resumed
    read_added_ = false;
  }
}

void SocketIo::armWrite() {
  if (write_armed_ || detached_) return;
  if (!write_ev_) {
    write_ev_.reset(event_new(loop_.base(), fd_, EV_WRITE | EV_PERSIST, &SocketIo::onWriteCb, this));
  }
  timeval tv = toTimeval(write_timeout_);
  event_add(write_ev_.get(), write_timeout_.count() > 0 ? &tv : nullptr);
  write_armed_ = true;
}

void SocketIo::onReadCb(evutil_socket_t, short what, void* ctx) {
  static_cast<SocketIo*>(ctx)->onRead(what);
}

void SocketIo::onReadTimeoutCb(void* ctx) { static_cast<SocketIo*>(ctx)->fail(ETIMEDOUT, true); }

void SocketIo::onWriteCb(evutil_socket_t, short what, void* ctx) {
  static_cast<SocketIo*>(ctx)->onWrite(what);
}

void SocketIo::runScheduledFlush() {
  flush_scheduled_ = false;
  if (detached_ || !connected_) return;
  size_t before = evbuffer_get_length(output_.get());
  flush();
  size_t after = evbuffer_get_length(output_.get());
  if (!detached_ && after < before && after <= write_low_water_ && handler_) {
    handler_->onSocketDrained();
  }
}

void SocketIo::onRead(short) {
  evbuffer_iovec vec[2];
  int n = evbuffer_reserve_space(input_.get(), static_cast<ev_ssize_t>(read_size_), vec, 2);
  if (n <= 0) return fail(ENOMEM, false);
  iovec iov[2];
  for (int i = 0; i < n; ++i) {
    iov[i].iov_base = vec[i].iov_base;
    iov[i].iov_len = vec[i].iov_len;
  }
  // recv() for one span: the socket path, lighter than readv's generic file path.
  ssize_t got = n == 1 ? recv(fd_, iov[0].iov_base, iov[0].iov_len, 0) : readv(fd_, iov, n);
  if (got < 0) {
    evbuffer_commit_space(input_.get(), vec, 0);
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    return fail(errno, false);
  }
  if (got == 0) {
    evbuffer_commit_space(input_.get(), vec, 0);
    // Level-triggered EOF would fire forever: stop reading, then tell the owner.
    read_enabled_ = false;
    updateReadEvent();
    if (handler_) handler_->onSocketEof();
    return;
  }
  if (read_timeout_.count() > 0) read_timer_->arm(read_timeout_);  // a byte came: runs anew
  size_t left = static_cast<size_t>(got);
  size_t room = 0;
  for (int i = 0; i < n; ++i) room += vec[i].iov_len;
  if (left == room && read_size_ < kReadChunk) {
    read_size_ = static_cast<uint32_t>(std::min(kReadChunk, size_t{read_size_} * 4));
  } else if (left < kMinRead / 4 && read_size_ > kMinRead) {
    read_size_ = kMinRead;
  }
  for (int i = 0; i < n; ++i) {
    size_t take = left < vec[i].iov_len ? left : vec[i].iov_len;
    vec[i].iov_len = take;
    left -= take;
  }
  evbuffer_commit_space(input_.get(), vec, n);
  if (read_high_water_ > 0 && evbuffer_get_length(input_.get()) >= read_high_water_) {
    read_paused_ = true;
    updateReadEvent();
  }
  if (handler_) handler_->onSocketReadable();
}

void SocketIo::onWrite(short what) {
  if (what & EV_TIMEOUT) return fail(ETIMEDOUT, true);
  if (connecting_) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail(err, false);
    connecting_ = false;
    connected_ = true;
    updateReadEvent();
    if (handler_) handler_->onSocketConnected();
    if (detached_) return;
  }
  size_t before = evbuffer_get_length(output_.get());
  flush();
  size_t after = evbuffer_get_length(output_.get());
  if (!detached_ && after < before && after <= write_low_water_ && handler_) {
    handler_->onSocketDrained();
  }
}

void SocketIo::write(const void* data, size_t len) {
  evbuffer_add(output_.get(), data, len);
  scheduleFlush();
}

void SocketIo::writeNow(const void* data, size_t len) {
  if (detached_ || !connected_ || flush_scheduled_ || write_armed_ ||
      evbuffer_get_length(output_.get()) > 0) {
    return write(data, len);
  }
  ssize_t n = send(fd_, data, len, MSG_NOSIGNAL);
  if (n < 0) {
    // An error is reported by the scheduled flush, as for write(): never from inside the
    // owner's own call.
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return write(data, len);
    n = 0;
  }
  size_t sent = static_cast<size_t>(n);
  if (sent < len) {
    evbuffer_add(output_.get(), static_cast<const char*>(data) + sent, len - sent);
    armWrite();
  } else if (shutdown_pending_) {
    shutdown_pending_ = false;
    ::shutdown(fd_, SHUT_WR);
  }
}

void SocketIo::scheduleFlush() {
  if (flush_scheduled_ || detached_) return;
  flush_scheduled_ = true;
  loop_.flushQueue().add(this);
}

void SocketIo::flush() {
  if (detached_ || !connected_) return;
  if (evbuffer_get_length(output_.get()) > 0) {
    // One send() when the output is one span (a local answer, a small response), else one
    // writev() over up to kMaxWriteSpans spans.
    constexpr int kMaxWriteSpans = 64;
    evbuffer_iovec vec[kMaxWriteSpans];
    int spans = evbuffer_peek(output_.get(), -1, nullptr, vec, kMaxWriteSpans);
    if (spans > kMaxWriteSpans) spans = kMaxWriteSpans;
    ssize_t n;
    if (spans == 1) {
      n = send(fd_, vec[0].iov_base, vec[0].iov_len, MSG_NOSIGNAL);
    } else {
      iovec iov[kMaxWriteSpans];
      for (int i = 0; i < spans; ++i) {
        iov[i].iov_base = vec[i].iov_base;
        iov[i].iov_len = vec[i].iov_len;
      }
      n = writev(fd_, iov, spans);
    }
    if (n > 0) {
      evbuffer_drain(output_.get(), static_cast<size_t>(n));
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return fail(errno, false);
    }
  }
  if (evbuffer_get_length(output_.get()) > 0) {
    armWrite();
    return;
  }
  if (write_armed_) {
    event_del(write_ev_.get());
    write_armed_ = false;
  }
  if (shutdown_pending_) {
    shutdown_pending_ = false;
    ::shutdown(fd_, SHUT_WR);
  }
}

size_t SocketIo::pendingOutput() const { return evbuffer_get_length(output_.get()); }

void SocketIo::shutdownWrite() {
  shutdown_pending_ = true;
  flush();
}

void SocketIo::detach() {
  detached_ = true;
  handler_ = nullptr;
  event_del(&read_ev_);
  if (read_timer_) read_timer_->cancel();
  if (write_ev_) event_del(write_ev_.get());
  if (flush_scheduled_) loop_.flushQueue().remove(this);
  read_added_ = false;
  write_armed_ = false;
  flush_scheduled_ = false;
}

void SocketIo::fail(int err, bool timeout) {
  read_enabled_ = false;
  updateReadEvent();
  if (write_armed_) {
    event_del(write_ev_.get());
    write_armed_ = false;
  }
  if (handler_) handler_->onSocketError(err, timeout);
}

}  // namespace detour
