#include "logging/spsc_ring.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace detour {
namespace {

bool put(SpscRing& ring, std::string_view s) {
  return ring.tryWrite(s.size(), [&](std::span<char> out) { std::memcpy(out.data(), s.data(), s.size()); });
}

std::string take(SpscRing& ring) {
  std::string_view v = ring.front();
  std::string out(v);
  if (!v.empty()) ring.pop();
  return out;
}

TEST(SpscRing, RecordsComeOutInOrderWithTheirSizes) {
  SpscRing ring(1024);
  EXPECT_EQ(ring.capacity(), 1024u);
  EXPECT_TRUE(ring.front().empty());
  ASSERT_TRUE(put(ring, "a"));
  ASSERT_TRUE(put(ring, "hello world"));
  ASSERT_TRUE(put(ring, std::string(100, 'x')));
  EXPECT_EQ(take(ring), "a");
  EXPECT_EQ(take(ring), "hello world");
  EXPECT_EQ(take(ring), std::string(100, 'x'));
  EXPECT_TRUE(ring.front().empty());
  EXPECT_EQ(ring.dropped(), 0u);
}

TEST(SpscRing, CapacityIsAPowerOfTwo) {
  EXPECT_EQ(SpscRing(1000).capacity(), 1024u);
  EXPECT_EQ(SpscRing(1).capacity(), 64u);
}

// Record sizes that do not divide the capacity: records land at every offset, and the ones
// that would straddle the end start the next lap instead, many times over.
TEST(SpscRing, WrapsAroundTheEndManyTimes) {
  SpscRing ring(256);
  uint64_t laps_before = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string rec(static_cast<size_t>(1 + (i * 37) % 90), static_cast<char>('a' + i % 26));
    rec += std::to_string(i);
    ASSERT_TRUE(put(ring, rec)) << i;
    bool extra = i % 3 == 2;
    if (extra) {
      ASSERT_TRUE(put(ring, "z"));
    }
    ASSERT_EQ(take(ring), rec) << i;
    if (extra) {
      ASSERT_EQ(take(ring), "z");
    }
    laps_before = ring.position() / ring.capacity();
  }
  EXPECT_GT(laps_before, 100u);  // the positions went round many times
  EXPECT_EQ(ring.dropped(), 0u);
}

TEST(SpscRing, AFullRingRefusesAndCountsWithoutCallingFill) {
  SpscRing ring(256);
  int written = 0;
  bool called = false;
  while (put(ring, std::string(40, 'r'))) ++written;
  EXPECT_EQ(written, 5);  // 48 bytes per record with its header: 5 fit in 256
  EXPECT_EQ(ring.dropped(), 1u);
  // 16 bytes are left: a 9-byte record needs 24 with its header and padding.
  EXPECT_FALSE(ring.tryWrite(9, [&](std::span<char>) { called = true; }));
  EXPECT_FALSE(called);
  EXPECT_EQ(ring.dropped(), 2u);
  // Once the consumer frees a record there is room again.
  EXPECT_EQ(take(ring), std::string(40, 'r'));
  EXPECT_TRUE(put(ring, std::string(40, 's')));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(take(ring), std::string(40, 'r'));
  EXPECT_EQ(take(ring), std::string(40, 's'));
  EXPECT_EQ(ring.dropped(), 2u);
}

// A record that would need the rest of the lap skipped counts that skip as used space.
TEST(SpscRing, ARecordThatNeedsTheNextLapWaitsForTheSpaceItSkips) {
  SpscRing ring(512);
  ASSERT_TRUE(put(ring, std::string(230, 'a')));  // 240 bytes with header and padding
  ASSERT_TRUE(put(ring, std::string(200, 'b')));  // 208 bytes: 64 left before the end
  EXPECT_EQ(take(ring), std::string(230, 'a'));   // 240 free at the start, 64 at the end
  EXPECT_FALSE(put(ring, std::string(248, 'c'))); // 64 skipped + 256 > 304 free
  EXPECT_TRUE(put(ring, std::string(232, 'd')));  // 64 skipped + 240 = 304
  EXPECT_EQ(take(ring), std::string(200, 'b'));
  EXPECT_EQ(take(ring), std::string(232, 'd'));
  EXPECT_TRUE(ring.front().empty());
  EXPECT_EQ(ring.dropped(), 1u);
}

TEST(SpscRing, ARecordLargerThanHalfTheRingIsRefused) {
  SpscRing ring(256);
  EXPECT_EQ(ring.maxRecord(), 120u);
  EXPECT_FALSE(put(ring, std::string(121, 'x')));
  EXPECT_TRUE(put(ring, std::string(120, 'x')));
  EXPECT_EQ(ring.dropped(), 1u);
}

// One producer and one consumer thread: every record arrives whole and in order, or was
// counted as dropped. (Run under ThreadSanitizer in CI.)
TEST(SpscRing, TwoThreadsPassEveryRecordInOrderOrCountIt) {
  SpscRing ring(4096);
  constexpr uint32_t kCount = 200000;
  std::atomic<bool> done{false};
  std::thread producer([&] {
    for (uint32_t i = 0; i < kCount; ++i) {
      size_t size = sizeof(uint32_t) + i % 200;
      ring.tryWrite(size, [&](std::span<char> out) {
        std::memcpy(out.data(), &i, sizeof i);
        std::memset(out.data() + sizeof i, static_cast<char>(i & 0x7f), size - sizeof i);
      });
    }
    done.store(true, std::memory_order_release);
  });
  uint64_t received = 0;
  int64_t last = -1;
  bool ok = true;
  for (;;) {
    bool finished = done.load(std::memory_order_acquire);
    std::string_view v = ring.front();
    if (v.empty()) {
      if (finished) break;
      std::this_thread::yield();
      continue;
    }
    uint32_t seq;
    std::memcpy(&seq, v.data(), sizeof seq);
    ok = ok && static_cast<int64_t>(seq) > last && v.size() == sizeof seq + seq % 200;
    for (size_t k = sizeof seq; k < v.size() && ok; ++k) ok = v[k] == static_cast<char>(seq & 0x7f);
    last = seq;
    ++received;
    ring.pop();
  }
  producer.join();
  EXPECT_TRUE(ok);
  EXPECT_EQ(received + ring.dropped(), kCount);
  EXPECT_GT(received, 0u);
}

}  // namespace
}  // namespace detour
