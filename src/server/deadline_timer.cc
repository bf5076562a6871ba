#include "server/deadline_timer.h"

#include <time.h>

#include <algorithm>

namespace detour {

DeadlineTimer::DeadlineTimer(event_base* base, Callback fn, void* ctx) : fn_(fn), ctx_(ctx) {
  evtimer_assign(&ev_, base, &DeadlineTimer::onFire, this);
}

DeadlineTimer::~DeadlineTimer() {
  if (event_at_us_ != 0) event_del(&ev_);
}

// CLOCK_MONOTONIC itself, not libevent's clock: that one is CLOCK_MONOTONIC_COARSE, up to a
// tick (4 ms) behind, and a deadline counted from it could run out that much early. libevent's
// timer may still fire that early by this clock; onFire then re-arms for the rest.
int64_t DeadlineTimer::nowUs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

void DeadlineTimer::arm(std::chrono::milliseconds after) {
  int64_t now = nowUs();
  deadline_us_ = now + std::max<int64_t>(after.count(), 0) * 1000;
  if (deadline_us_ == 0) deadline_us_ = 1;  // 0 means "not armed"
  if (event_at_us_ != 0 && event_at_us_ <= deadline_us_) return;  // fires first, re-arms then
  schedule(now);
}

void DeadlineTimer::schedule(int64_t now_us) {
  int64_t left = deadline_us_ - now_us;
  if (left < 0) left = 0;
  timeval tv{static_cast<time_t>(left / 1000000), static_cast<suseconds_t>(left % 1000000)};
  event_add(&ev_, &tv);
  event_at_us_ = deadline_us_;
}

void DeadlineTimer::onFire(evutil_socket_t, short, void* self) {
  auto* t = static_cast<DeadlineTimer*>(self);
  t->event_at_us_ = 0;
  if (t->deadline_us_ == 0) return;  // cancelled since it was armed
  int64_t now = t->nowUs();
  if (now < t->deadline_us_) {  // moved later since it was armed
    t->schedule(now);
    return;
  }
  t->deadline_us_ = 0;
  t->fn_(t->ctx_);  // last: it may destroy the timer
}

}  // namespace detour
