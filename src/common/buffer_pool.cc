#include "common/buffer_pool.h"

#include <event2/event.h>
#include <malloc.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DETOUR_BUFFER_POOL_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define DETOUR_BUFFER_POOL_OFF 1
#endif
#endif

namespace detour {
namespace {

constexpr int kMinShift = 10;  // 1 KiB: libevent's smallest chain
constexpr int kMaxShift = 17;  // 128 KiB: the largest read chunk detour asks for (socket_io.cc)
constexpr int kClasses = kMaxShift - kMinShift + 1;
// Each class keeps up to kBlocksPerClass blocks and no more than kBytesPerClass: under load one
// loop iteration frees a chain or two per exchange it served (a read's chain moved on to the
// other side, the answer's), several dozen at 64 connections; a smaller cache sent one
// 16 KiB chain in four back to malloc. At most about 4 MiB per thread, most of it pages
// never touched (a small exchange writes the first kilobyte or two of a 16 KiB read chain).
constexpr uint16_t kBlocksPerClass = 64;
constexpr size_t kBytesPerClass = 1024 * 1024;
// glibc's usable size exceeds the request by at most one chunk header plus alignment.
constexpr size_t kSlack = 64;

struct FreeBlock {
  FreeBlock* next;
};

constexpr size_t kObjectGrain = 64;
constexpr int kObjectClasses = static_cast<int>(kMaxSmallObject / kObjectGrain);
[[maybe_unused]] constexpr uint16_t kObjectsPerClass = 64;

// Trivially destructible on purpose: libevent may free into it during thread teardown.
struct ThreadCache {
  FreeBlock* head[kClasses];
  uint16_t count[kClasses];
  FreeBlock* object_head[kObjectClasses];
  uint16_t object_count[kObjectClasses];
  bool released;
};

thread_local ThreadCache t_cache{};

constexpr uint16_t capacity(int cls) {
  size_t by_bytes = kBytesPerClass >> (cls + kMinShift);
  return static_cast<uint16_t>(by_bytes < kBlocksPerClass ? by_bytes : kBlocksPerClass);
}

// The class of an allocation request: exact powers of two only (what libevent asks for).
int requestClass(size_t n) {
  if (n < (size_t{1} << kMinShift) || n > (size_t{1} << kMaxShift) || (n & (n - 1)) != 0) return -1;
  return __builtin_ctzl(n) - kMinShift;
}

// The class a freed block can serve: its usable size is at least the class size and within
// the slack above it (so a block is never handed out for more than it holds).
int blockClass(void* p) {
  size_t usable = malloc_usable_size(p);
  if (usable < (size_t{1} << kMinShift) || usable >= (size_t{1} << kMaxShift) + kSlack) return -1;
  int shift = 63 - __builtin_clzl(usable);
  if (usable - (size_t{1} << shift) >= kSlack) return -1;
  return shift - kMinShift;
}

void* poolMalloc(size_t n) {
  int cls = requestClass(n);
  ThreadCache& c = t_cache;
  if (cls >= 0 && c.head[cls] != nullptr) {
    FreeBlock* b = c.head[cls];
    c.head[cls] = b->next;
    --c.count[cls];
    return b;
  }
  return std::malloc(n);
}

void poolFree(void* p) {
  if (p == nullptr) return;
  ThreadCache& c = t_cache;
  if (!c.released) {
    int cls = blockClass(p);
    if (cls >= 0 && c.count[cls] < capacity(cls)) {
      auto* b = static_cast<FreeBlock*>(p);
      b->next = c.head[cls];
      c.head[cls] = b;
      ++c.count[cls];
      return;
    }
  }
  std::free(p);
}

// Sizes 1..64 are class 0, 65..128 class 1, and so on; a class always gets blocks of its
// largest size, so any block of it serves any request of it.
[[maybe_unused]] int objectClass(size_t n) {
  if (n == 0 || n > kMaxSmallObject) return -1;
  return static_cast<int>((n - 1) / kObjectGrain);
}

[[maybe_unused]] void* poolRealloc(void* p, size_t n) { return std::realloc(p, n); }

}  // namespace

void installLibeventBufferPool() {
#ifndef DETOUR_BUFFER_POOL_OFF
  static bool installed = false;
  if (installed) return;
  installed = true;
  event_set_mem_functions(&poolMalloc, &poolRealloc, &poolFree);
#endif
}

void tuneAllocator() {
  // Setting one threshold turns off glibc's adaptive ones, so both are set: without the mmap
  // threshold every 128 KiB chain of a streamed body would be an mmap, a munmap and 33 page
  // faults.
  constexpr int kTrimThreshold = 4 << 20;
  constexpr int kMmapThreshold = 1 << 20;
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
}

void* allocateSmallObject(size_t n) {
#ifndef DETOUR_BUFFER_POOL_OFF
  int cls = objectClass(n);
  if (cls >= 0) {
    ThreadCache& c = t_cache;
    if (c.object_head[cls] != nullptr) {
      FreeBlock* b = c.object_head[cls];
      c.object_head[cls] = b->next;
      --c.object_count[cls];
      return b;
    }
    return ::operator new((static_cast<size_t>(cls) + 1) * kObjectGrain);
  }
#endif
  return ::operator new(n);
}

void freeSmallObject(void* p, [[maybe_unused]] size_t n) {
  if (p == nullptr) return;
#ifndef DETOUR_BUFFER_POOL_OFF
  int cls = objectClass(n);
  if (cls >= 0) {
    ThreadCache& c = t_cache;
    if (!c.released && c.object_count[cls] < kObjectsPerClass) {
      auto* b = static_cast<FreeBlock*>(p);
      b->next = c.object_head[cls];
      c.object_head[cls] = b;
      ++c.object_count[cls];
      return;
    }
    ::operator delete(p);  // unsized: clang < 19 declares no sized global delete by default
    return;
  }
#endif
  ::operator delete(p);
}

size_t smallObjectsCachedForTest() {
  size_t blocks = 0;
  for (int cls = 0; cls < kObjectClasses; ++cls) blocks += t_cache.object_count[cls];
  return blocks;
}

void* bufferPoolMallocForTest(size_t n) { return poolMalloc(n); }
void bufferPoolFreeForTest(void* p) { poolFree(p); }

size_t bufferPoolCachedBytesForTest() {
  size_t bytes = 0;
  for (int cls = 0; cls < kClasses; ++cls) bytes += size_t{t_cache.count[cls]} << (cls + kMinShift);
  return bytes;
}

void releaseThreadBufferPool() {
  ThreadCache& c = t_cache;
  c.released = true;
  for (int cls = 0; cls < kClasses; ++cls) {
    while (c.head[cls] != nullptr) {
      FreeBlock* b = c.head[cls];
      c.head[cls] = b->next;
      std::free(b);
    }
    c.count[cls] = 0;
  }
  for (int cls = 0; cls < kObjectClasses; ++cls) {
    while (c.object_head[cls] != nullptr) {
      FreeBlock* b = c.object_head[cls];
      c.object_head[cls] = b->next;
      ::operator delete(b);
    }
    c.object_count[cls] = 0;
  }
}

}  // namespace detour
