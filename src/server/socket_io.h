#pragma once

// SocketIo: one non-blocking TCP socket with an input and an output evbuffer, driven by the
// loop. It replaces libevent's bufferevent on the data path for fewer system calls per
// exchange:
//
//   - reads go straight into space reserved in the input buffer with one recv(), instead of
//     an ioctl(FIONREAD) plus a readv;
//   - writes happen at the end of the callback that produced them (a flush event activated in
//     the same loop iteration, no syscall), with one writev for everything queued; the write
//     event (and its epoll_ctl) is armed only when the kernel would not take it all;
//   - the read event is registered once and stays, so a keep-alive exchange costs a recv and a
//     writev and nothing else.
//
// Back-pressure: reading pauses while the input holds `read_high_water` bytes or more and
// resumes once the owner has consumed it (resumeReadIfDrained()). The owner hears of a
// write that left the output at or below `write_low_water` through onSocketDrained().
//
// Owned by one object on the loop thread; never deletes itself.

#include <chrono>
#include <cstddef>

#include <event2/event_struct.h>

#include "common/libevent_ptr.h"
#include "server/deadline_timer.h"
#include "server/event_loop.h"

namespace detour {

class SocketIo {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // New bytes are in input().
    virtual void onSocketReadable() = 0;
    // A write left the output at or below the low water mark (possibly empty).
    virtual void onSocketDrained() = 0;
    // The peer closed its sending side; input() may still hold bytes.
    virtual void onSocketEof() = 0;
    // A socket error (errno value), or a read or write timeout (`timeout` true).
    virtual void onSocketError(int err, bool timeout) = 0;
    // connect() completed.
    virtual void onSocketConnected() {}
  };

  // Takes ownership of `fd` (made non-blocking). `handler` may be null until setHandler().
  SocketIo(EventLoop& loop, evutil_socket_t fd, Handler* handler);
  ~SocketIo();
  SocketIo(const SocketIo&) = delete;
  SocketIo& operator=(const SocketIo&) = delete;

  // Starts a non-blocking connect; false when it fails at once (errno is set). Output queued
  // before the connect completes is written after it.
  bool connect(const sockaddr* addr, socklen_t len);
  bool connected() const { return connected_; }

  void setHandler(Handler* handler) { handler_ = handler; }
  evutil_socket_t fd() const { return fd_; }
  evbuffer* input() const { return input_.get(); }
  evbuffer* output() const { return output_.get(); }

  // Reading on or off (on at construction). Off stops callbacks for new bytes and EOF.
  void enableRead();
  void disableRead();
  bool readEnabled() const { return read_enabled_; }
  // Read pauses while input() holds at least `n` bytes (0 = never).
  void setReadHighWater(size_t n) { read_high_water_ = n; }
  // Call after consuming input: resumes reading paused by the high water mark.
  void resumeReadIfDrained();

  void setWriteLowWater(size_t n) { write_low_water_ = n; }
  // Timeouts (0 = none): no byte read for `read`, no write progress for `write`.
  void setTimeouts(std::chrono::milliseconds read, std::chrono::milliseconds write);

  // Appends and schedules the write (this loop iteration, after the current callback).
  void write(const void* data, size_t len);
  // Sends at once, from the caller's memory, when nothing is queued (one send(), no copy into
  // the output buffer); what the kernel does not take is queued as by write(). For the last
  // answer of a read: answers written one after another should go through write() to leave in
  // one writev. onSocketDrained() is not called for bytes sent here.
  void writeNow(const void* data, size_t len);
  // Schedules writing what output() holds (after the caller appended to it directly).
  void scheduleFlush();
  // Writes now as much as the kernel takes; arms the write event for the rest.
  void flush();
  size_t pendingOutput() const;
  // Stops all events and callbacks (the owner is about to drop this socket).
  void detach();
  // Half-closes the sending side once everything queued is written.
  void shutdownWrite();
  // FlushQueue only: the scheduled write.
  void runScheduledFlush();

 private:
  static void onReadCb(evutil_socket_t, short what, void* ctx);
  static void onWriteCb(evutil_socket_t, short what, void* ctx);
  static void onReadTimeoutCb(void* ctx);
  void onRead(short what);
  void onWrite(short what);
  void updateReadEvent();
  void armWrite();
  void fail(int err, bool timeout);

  EventLoop& loop_;
  evutil_socket_t fd_;
  Handler* handler_;
  EvBufferPtr input_;
  EvBufferPtr output_;
  // The read event lives inside the object (event_assign), not in an allocation of its own:
  // every idle connection holds one.
  event read_ev_;
  EventPtr write_ev_;  // created the first time the kernel does not take a write whole
  std::unique_ptr<DeadlineTimer> read_timer_;  // created with the first read timeout
  // How much the next recv() may take: small for request/response exchanges, growing while
  // reads fill it (a streamed body), so that small exchanges never allocate large chains.
  uint32_t read_size_ = 16 * 1024 - 64;  // kMinRead (socket_io.cc)
  bool connected_ = true;
  bool connecting_ = false;
  bool read_enabled_ = true;
  bool read_paused_ = false;  // by the high water mark
  bool read_added_ = false;
  bool write_armed_ = false;
  bool flush_scheduled_ = false;
  bool shutdown_pending_ = false;
  bool detached_ = false;
  size_t read_high_water_ = 0;
  size_t write_low_water_ = 0;
  std::chrono::milliseconds read_timeout_{0};
  std::chrono::milliseconds write_timeout_{0};
};

}  // namespace detour
