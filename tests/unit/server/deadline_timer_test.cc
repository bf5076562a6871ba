#include "server/deadline_timer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>

#include "common/libevent_ptr.h"
#include "server/event_loop.h"

namespace detour {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Runs `fn` on the loop after `after` (a plain libevent timer, for the test's own steps).
class At {
 public:
  At(EventLoop& loop, milliseconds after, std::function<void()> fn) : fn_(std::move(fn)) {
    ev_.reset(evtimer_new(loop.base(), &At::cb, this));
    timeval tv{static_cast<time_t>(after.count() / 1000),
               static_cast<suseconds_t>((after.count() % 1000) * 1000)};
    evtimer_add(ev_.get(), &tv);
  }

 private:
  static void cb(evutil_socket_t, short, void* self) { static_cast<At*>(self)->fn_(); }
  EventPtr ev_;
  std::function<void()> fn_;
};

struct Probe {
  EventLoop* loop = nullptr;
  int fired = 0;
  Clock::time_point at{};
  bool stop_on_fire = true;
  std::function<void()> then;
};

void onProbe(void* ctx) {
  auto* p = static_cast<Probe*>(ctx);
  ++p->fired;
  p->at = Clock::now();
  if (p->then) p->then();
  if (p->stop_on_fire) p->loop->stop();
}

milliseconds since(Clock::time_point start, Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(t - start);
}

TEST(DeadlineTimer, FiresOnceWhenItsTimeHasComeAndNotBefore) {
  EventLoop loop;
  Probe p{&loop};
  DeadlineTimer timer(loop.base(), &onProbe, &p);
  At guard(loop, milliseconds(2000), [&] { loop.stop(); });
  Clock::time_point start = Clock::now();
  timer.arm(milliseconds(40));
  EXPECT_TRUE(timer.armed());
  loop.run();
  EXPECT_EQ(p.fired, 1);
  EXPECT_GE(since(start, p.at).count(), 40);
  EXPECT_FALSE(timer.armed());
  EXPECT_FALSE(timer.eventPending());
}

// The case it is made for: a deadline pushed later while the timer is armed (a request
// re-arming its connection's idle timeout) needs no event_add; the earlier timer fires,
// finds time left, and re-arms for it. The callback runs once, at the later deadline.
TEST(DeadlineTimer, ADeadlineMovedLaterFiresAtTheLaterTime) {
  EventLoop loop;
  Probe p{&loop};
  DeadlineTimer timer(loop.base(), &onProbe, &p);
  At guard(loop, milliseconds(3000), [&] { loop.stop(); });
  Clock::time_point start = Clock::now();
  Clock::time_point rearmed{};
  timer.arm(milliseconds(60));
  At later(loop, milliseconds(30), [&] {
    rearmed = Clock::now();
    timer.arm(milliseconds(100));
  });
  loop.run();
  EXPECT_EQ(p.fired, 1);
  EXPECT_GE(since(rearmed, p.at).count(), 100);
  EXPECT_GE(since(start, p.at).count(), 130);
}

TEST(DeadlineTimer, ADeadlineMovedEarlierFiresAtTheEarlierTime) {
  EventLoop loop;
  Probe p{&loop};
  DeadlineTimer timer(loop.base(), &onProbe, &p);
  At guard(loop, milliseconds(3000), [&] { loop.stop(); });
  Clock::time_point start = Clock::now();
  timer.arm(milliseconds(2500));
  timer.arm(milliseconds(30));
  loop.run();
  EXPECT_EQ(p.fired, 1);
  EXPECT_GE(since(start, p.at).count(), 30);
  EXPECT_LT(since(start, p.at).count(), 2000);  // not the guard's stop
}

TEST(DeadlineTimer, ACancelledTimerDoesNotFireAndItsEventGoesQuietly) {
  EventLoop loop;
  Probe p{&loop};
  DeadlineTimer timer(loop.base(), &onProbe, &p);
  timer.arm(milliseconds(20));
  timer.cancel();
  EXPECT_FALSE(timer.armed());
  EXPECT_TRUE(timer.eventPending());  // cancelling is a store; the event runs out by itself
  At done(loop, milliseconds(150), [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(p.fired, 0);
  EXPECT_FALSE(timer.eventPending());
}

// A connection's timer is cancelled when a request arrives and armed again when it is
// answered; the re-armed deadline counts from the re-arming.
TEST(DeadlineTimer, ArmedAgainAfterACancelItFiresAtTheNewDeadline) {
  EventLoop loop;
  Probe p{&loop};
  DeadlineTimer timer(loop.base(), &onProbe, &p);
  At guard(loop, milliseconds(3000), [&] { loop.stop(); });
  Clock::time_point rearmed{};
  timer.arm(milliseconds(40));
  timer.cancel();
  At again(loop, milliseconds(20), [&] {
    rearmed = Clock::now();
    timer.arm(milliseconds(80));
  });
  loop.run();
  EXPECT_EQ(p.fired, 1);
  EXPECT_GE(since(rearmed, p.at).count(), 80);
}

TEST(DeadlineTimer, TheCallbackMayArmItAgain) {
  EventLoop loop;
  Probe p{&loop};
  p.stop_on_fire = false;
  DeadlineTimer timer(loop.base(), &onProbe, &p);
  p.then = [&] {
    if (p.fired < 3) {
      timer.arm(milliseconds(10));
    } else {
      loop.stop();
    }
  };
  At guard(loop, milliseconds(3000), [&] { loop.stop(); });
  timer.arm(milliseconds(10));
  loop.run();
  EXPECT_EQ(p.fired, 3);
}

// Backend::dropIdle destroys the connection, its timer with it, from the timer's callback.
TEST(DeadlineTimer, TheCallbackMayDestroyTheTimer) {
  EventLoop loop;
  struct Owner {
    EventLoop* loop;
    std::unique_ptr<DeadlineTimer> timer;
    int fired = 0;
  } owner{&loop, nullptr};
  owner.timer = std::make_unique<DeadlineTimer>(
      loop.base(),
      [](void* ctx) {
        auto* o = static_cast<Owner*>(ctx);
        ++o->fired;
        o->timer.reset();
        o->loop->stop();
      },
      &owner);
  At guard(loop, milliseconds(3000), [&] { loop.stop(); });
  owner.timer->arm(milliseconds(10));
  loop.run();
  EXPECT_EQ(owner.fired, 1);
  EXPECT_EQ(owner.timer, nullptr);
}

TEST(DeadlineTimer, DestroyedWhilePendingItNeverFires) {
  EventLoop loop;
  Probe p{&loop};
  {
    DeadlineTimer timer(loop.base(), &onProbe, &p);
    timer.arm(milliseconds(10));
  }
  At done(loop, milliseconds(80), [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(p.fired, 0);
}

}  // namespace
}  // namespace detour
