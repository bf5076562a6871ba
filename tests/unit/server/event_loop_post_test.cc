#include "server/event_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace detour {
namespace {

// Several threads post at once (as workers report backend failures to the main loop): every
// function runs once, on the loop's thread, in the order each thread posted it.
TEST(EventLoopPost, FunctionsFromManyThreadsRunOnceEachInPerThreadOrder) {
  EventLoop loop;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<int> next(kThreads, 0);  // touched by the loop thread only
  int ran = 0;
  bool in_order = true;
  std::thread::id loop_thread = std::this_thread::get_id();
  bool on_loop_thread = true;
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        loop.post([&, t, i] {
          on_loop_thread = on_loop_thread && std::this_thread::get_id() == loop_thread;
          in_order = in_order && next[t] == i;
          next[t] = i + 1;
          if (++ran == kThreads * kPerThread) loop.stop();
        });
      }
    });
  }
  loop.run();  // returns once the last function ran (stop() is itself a post)
  for (auto& p : posters) p.join();
  EXPECT_EQ(ran, kThreads * kPerThread);
  EXPECT_TRUE(in_order);
  EXPECT_TRUE(on_loop_thread);
}

TEST(EventLoopPost, AFunctionPostedFromTheLoopRunsLaterNotInline) {
  EventLoop loop;
  std::vector<int> order;
  loop.post([&] {
    loop.post([&] {
      order.push_back(2);
      loop.stop();
    });
    order.push_back(1);
  });
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(EventLoopPost, FunctionsNeverRunAreFreedWithTheLoop) {
  auto counter = std::make_shared<int>(0);
  {
    EventLoop loop;
    for (int i = 0; i < 10; ++i) loop.post([counter] { ++*counter; });
  }
  EXPECT_EQ(counter.use_count(), 1);  // (LeakSanitizer would also see a leak)
  EXPECT_EQ(*counter, 0);
}

}  // namespace
}  // namespace detour
