#include "common/buffer_pool.h"

#include <malloc.h>
#include <sys/resource.h>

#include <cstring>

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace detour {
namespace {

// Each case runs on its own thread: the cache is per thread, and releasing it ends its use on
// that thread.
template <typename F>
void onFreshThread(F f) {
  std::thread t([&] {
    f();
    releaseThreadBufferPool();
  });
  t.join();
}

TEST(BufferPool, AFreedChainSizedBlockIsHandedOutAgain) {
  tuneAllocator();  // as detour does at start: else glibc mmaps a 128 KiB block, never cached
  onFreshThread([] {
    for (size_t size : {size_t{1024}, size_t{4096}, size_t{16384}, size_t{65536}, size_t{131072}}) {
      void* a = bufferPoolMallocForTest(size);
      ASSERT_NE(a, nullptr);
      EXPECT_GE(malloc_usable_size(a), size);
      bufferPoolFreeForTest(a);
      void* b = bufferPoolMallocForTest(size);
      EXPECT_EQ(a, b) << size;
      bufferPoolFreeForTest(b);
    }
  });
}

TEST(BufferPool, OtherSizesAreNotCached) {
  onFreshThread([] {
    // Not a power of two, too small, too large: plain malloc/free, never served from a class.
    for (size_t size : {size_t{1000}, size_t{512}, size_t{262144}, size_t{3000}}) {
      void* a = bufferPoolMallocForTest(size);
      ASSERT_NE(a, nullptr);
      EXPECT_GE(malloc_usable_size(a), size);
      bufferPoolFreeForTest(a);
    }
    // A block whose usable size is far above its class is never given out for the class.
    void* big = bufferPoolMallocForTest(6000);  // usable ~6 KiB: neither 4 KiB nor 8 KiB class
    bufferPoolFreeForTest(big);
    void* c = bufferPoolMallocForTest(8192);
    EXPECT_GE(malloc_usable_size(c), 8192u);
    void* d = bufferPoolMallocForTest(4096);
    EXPECT_GE(malloc_usable_size(d), 4096u);
    bufferPoolFreeForTest(c);
    bufferPoolFreeForTest(d);
  });
}

TEST(BufferPool, TheCacheIsBoundedPerClass) {
  onFreshThread([] {
    // 1 MiB of 64 KiB blocks are kept: the 17th freed block goes back to malloc.
    std::vector<void*> blocks;
    for (int i = 0; i < 17; ++i) blocks.push_back(bufferPoolMallocForTest(65536));
    EXPECT_EQ(bufferPoolCachedBytesForTest(), 0u);
    for (void* b : blocks) bufferPoolFreeForTest(b);
    EXPECT_EQ(bufferPoolCachedBytesForTest(), 16u * 65536);
    for (int i = 0; i < 3; ++i) bufferPoolFreeForTest(bufferPoolMallocForTest(1000));
    EXPECT_EQ(bufferPoolCachedBytesForTest(), 16u * 65536);  // 1000 bytes: not a class size
  });
}

TEST(BufferPool, SmallClassesKeepSixtyFourBlocks) {
  onFreshThread([] {
    // What one busy loop iteration frees at 64 connections: a 16 KiB read chain per exchange.
    std::vector<void*> blocks;
    for (int i = 0; i < 65; ++i) blocks.push_back(bufferPoolMallocForTest(16384));
    for (void* b : blocks) bufferPoolFreeForTest(b);
    EXPECT_EQ(bufferPoolCachedBytesForTest(), 64u * 16384);
    // ... and all of them come back from the cache.
    for (auto& b : blocks) b = bufferPoolMallocForTest(16384);
    EXPECT_EQ(bufferPoolCachedBytesForTest(), 0u);
    for (void* b : blocks) bufferPoolFreeForTest(b);
  });
}

TEST(BufferPool, ReleaseFreesTheCacheAndBypassesItAfterwards) {
  std::thread t([] {
    void* a = bufferPoolMallocForTest(2048);
    bufferPoolFreeForTest(a);  // cached
    EXPECT_EQ(bufferPoolCachedBytesForTest(), 2048u);
    releaseThreadBufferPool();
    EXPECT_EQ(bufferPoolCachedBytesForTest(), 0u);
    void* b = bufferPoolMallocForTest(2048);
    bufferPoolFreeForTest(b);  // not cached: nothing left to leak at thread exit
    EXPECT_EQ(bufferPoolCachedBytesForTest(), 0u);
  });
  t.join();
}

// Small objects: sanitizer builds pass them straight to operator new/delete (ASan must see
// every free), so the caching itself is checked without sanitizers only.
TEST(SmallObjects, AreUsableAtEverySize) {
  onFreshThread([] {
    for (size_t size : {size_t{1}, size_t{64}, size_t{65}, size_t{1000}, size_t{1024}, size_t{1025}, size_t{5000}}) {
      void* p = allocateSmallObject(size);
      ASSERT_NE(p, nullptr);
      std::memset(p, 0xab, size);  // the whole size is writable (ASan would catch an overrun)
      freeSmallObject(p, size);
    }
  });
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST(SmallObjects, AFreedBlockServesAnySizeOfItsClass) {
  onFreshThread([] {
    void* a = allocateSmallObject(200);  // 193..256 bytes share a class
    freeSmallObject(a, 200);
    EXPECT_EQ(smallObjectsCachedForTest(), 1u);
    void* b = allocateSmallObject(256);
    EXPECT_EQ(a, b);
    EXPECT_GE(malloc_usable_size(b), 256u);
    freeSmallObject(b, 256);
    void* c = allocateSmallObject(128);  // another class: not that block
    EXPECT_NE(c, a);
    freeSmallObject(c, 128);
    EXPECT_EQ(smallObjectsCachedForTest(), 2u);
  });
}

TEST(SmallObjects, KeepSixtyFourBlocksPerClassAndNothingAboveTheLimit) {
  onFreshThread([] {
    std::vector<void*> blocks;
    for (int i = 0; i < 65; ++i) blocks.push_back(allocateSmallObject(600));
    for (void* b : blocks) freeSmallObject(b, 600);
    EXPECT_EQ(smallObjectsCachedForTest(), 64u);
    for (auto& b : blocks) b = allocateSmallObject(600);
    EXPECT_EQ(smallObjectsCachedForTest(), 0u);
    for (void* b : blocks) freeSmallObject(b, 600);
    freeSmallObject(allocateSmallObject(kMaxSmallObject + 1), kMaxSmallObject + 1);
    EXPECT_EQ(smallObjectsCachedForTest(), 64u);
  });
}

TEST(SmallObjects, ReleaseFreesThemAndBypassesTheListsAfterwards) {
  std::thread t([] {
    freeSmallObject(allocateSmallObject(300), 300);
    EXPECT_EQ(smallObjectsCachedForTest(), 1u);
    releaseThreadBufferPool();
    EXPECT_EQ(smallObjectsCachedForTest(), 0u);
    freeSmallObject(allocateSmallObject(300), 300);
    EXPECT_EQ(smallObjectsCachedForTest(), 0u);
  });
  t.join();
}
#endif

// glibc's allocator only: sanitizers replace malloc and ignore mallopt.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
long threadMinorFaults() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_minflt;
}

TEST(TuneAllocator, MemoryFreedAtTheTopOfAThreadsHeapIsNotFaultedInAgain) {
  tuneAllocator();
  std::thread t([] {
    // What a worker does under load: many chain-sized blocks in use at once, all freed, then
    // allocated again. 1 MiB of 8 KiB blocks (malloc's own, not the cache's).
    constexpr int kBlocks = 128;
    constexpr size_t kSize = 8192 + 16;
    std::vector<char*> blocks(kBlocks);
    auto fill = [&] {
      for (auto& b : blocks) {
        b = static_cast<char*>(malloc(kSize));
        ASSERT_NE(b, nullptr);
        memset(b, 1, kSize);
      }
    };
    auto drop = [&] {
      for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) free(*it);
    };
    fill();
    drop();
    long before = threadMinorFaults();
    fill();
    long faults = threadMinorFaults() - before;
    drop();
    // Without tuneAllocator the frees give all but 160 KiB back (madvise) and the refill
    // faults about 200 pages in again.
    EXPECT_LT(faults, 16) << "pages faulted in again after a free at the heap's top";
  });
  t.join();
}
#endif

}  // namespace
}  // namespace detour
