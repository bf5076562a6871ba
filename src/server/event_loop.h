#pragma once

// EventLoop owns one event_base and the things that must outlive a callback: objects handed to
// deferredDelete() are destroyed after the current callback returns (style P5), and functions
// given to post() from any thread run on the loop's thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/libevent_ptr.h"

namespace detour {

class Deletable {
 public:
  virtual ~Deletable() = default;
};

class SocketIo;

// Sockets whose output is written at the end of the current loop iteration: one event for the
// whole loop instead of one per socket (SocketIo::scheduleFlush). Loop thread only.
class FlushQueue {
 public:
  explicit FlushQueue(event_base* base);
  void add(SocketIo* socket);
  // Forgets `socket` (it is being detached or destroyed).
  void remove(SocketIo* socket);

 private:
  static void onFlushCb(evutil_socket_t, short, void* ctx);
  EventPtr event_;
  std::vector<SocketIo*> pending_;
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  event_base* base() const { return base_.get(); }
  // Counts run()'s turns: it changes only across a poll (one turn may span a few polls), so
  // two callbacks that see different values have a poll between them. Loop thread only.
  uint64_t iteration() const { return iteration_; }
  // The loop's cached wall-clock time in µs (libevent's, on a coarse clock: a few ms).
  int64_t cachedTimeUs() const;
  FlushQueue& flushQueue() { return *flush_queue_; }

  // Runs until stop() (or until no events remain). Loop thread only.
  void run();
  // Makes run() return after the current iteration. Any thread.
  void stop();

  // Runs `fn` on the loop thread soon, in the order posted by each thread. Any thread; never
  // runs `fn` inline. Lock-free: a compare-and-swap onto a list, and an eventfd write unless
  // a wake-up is already pending.
  void post(std::function<void()> fn);

  // Destroys `obj` after the current callback returns. Loop thread only.
  void deferredDelete(std::unique_ptr<Deletable> obj);

 private:
  static void onWake(evutil_socket_t, short, void* ctx);
  static void onDrainDeletes(evutil_socket_t, short, void* ctx);
  void runPosted();

  struct Posted {
    std::function<void()> fn;
    Posted* next;
  };

  EventBasePtr base_;
  int wake_fd_ = -1;
  EventPtr wake_;
  EventPtr drain_deletes_;
  std::atomic<Posted*> posted_{nullptr};  // newest first (a Treiber stack; taken whole)
  std::atomic<bool> wake_pending_{false};
  std::vector<std::unique_ptr<Deletable>> to_delete_;
  std::vector<std::unique_ptr<Deletable>> deleting_;  // the batch being destroyed
  std::unique_ptr<FlushQueue> flush_queue_;
  uint64_t iteration_ = 0;
};

}  // namespace detour
