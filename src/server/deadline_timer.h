#pragma once

// DeadlineTimer: a one-shot timeout whose deadline moves on every request and almost never
// runs out (a connection's idle timeout, a backend's response timeout). Moving the deadline
// later, or cancelling, is a store: the libevent timer stays armed for the earlier time and,
// when it fires, re-arms itself for what is left, or does nothing when cancelled. Only arming
// an unarmed timer, or moving the deadline earlier, calls event_add(). nginx's timers are lazy
// the same way (it keeps a timer whose new deadline is within 300 ms of the old one); these
// never fire early.
//
// One per owner, embedded (the event lives inside, event_assign); not movable. Loop thread
// only. The callback may destroy the timer's owner, and the timer with it.

#include <event2/event.h>
#include <event2/event_struct.h>

#include <chrono>
#include <cstdint>

namespace detour {

class DeadlineTimer {
 public:
  using Callback = void (*)(void* ctx);

  DeadlineTimer(event_base* base, Callback fn, void* ctx);
  ~DeadlineTimer();
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  // The callback runs `after` from now (not before), replacing any earlier deadline.
  void arm(std::chrono::milliseconds after);
  // The callback will not run until arm() again.
  void cancel() { deadline_us_ = 0; }
  bool armed() const { return deadline_us_ != 0; }
  // Whether libevent holds the timer (armed, or cancelled and not yet fired). For tests.
  bool eventPending() const { return event_at_us_ != 0; }

 private:
  static void onFire(evutil_socket_t, short, void* self);
  // CLOCK_MONOTONIC, in µs.
  static int64_t nowUs();
  void schedule(int64_t now_us);

  event ev_;
  Callback fn_;
  void* ctx_;
  int64_t deadline_us_ = 0;  // 0: not armed
  int64_t event_at_us_ = 0;  // when the libevent timer is due; 0: not pending
};

}  // namespace detour
