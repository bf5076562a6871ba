#pragma once

// A per-thread cache of the memory blocks libevent allocates for its buffer chains.
//
// Every exchange fills and empties evbuffers: a chain is allocated for each read and each
// written response, and freed as soon as it is drained. libevent sizes chains in powers of two
// (1 KiB to 128 KiB here), which are all beyond glibc's thread cache (tcache stops at 1 KiB), so
// each one went through the arena's bins: about 700 instructions per proxied request, a tenth
// of a redirect's whole cost. Installed as libevent's allocator, this keeps freed blocks of
// those sizes on a small per-thread list and hands them out again; every other allocation is
// passed to malloc/free unchanged.
//
// Bounded: at most 1 MiB of each size class per thread and 64 blocks (8 of 128 KiB, 16 of
// 64 KiB, 64 of 16 KiB and below), so an idle worker holds at most a few MiB, mostly pages
// never touched. A block freed on another thread than the one that allocated it joins the
// freeing thread's list; both are plain malloc blocks, so that is safe.
//
// Sanitizer builds do not install it (ASan must see every free to catch a use after free).

#include <cstddef>

namespace detour {

// Makes libevent allocate through the cache. Call once, before anything allocates with
// libevent (before the first event_base); later calls do nothing. Main thread.
void installLibeventBufferPool();

// Keeps glibc from handing the top of a thread's heap back to the kernel at every small dip.
// By default a free that leaves 160 KiB unused at the top of a worker's heap (M_TRIM_THRESHOLD
// 128 KiB plus M_TOP_PAD) madvises the excess away, and the next allocations fault those pages
// back in: under 64 connections of proxied GETs that was 0.06 madvise and 0.2 page faults per
// request, a quarter more CPU per request, and the spread between benchmark runs. With the
// threshold at 4 MiB, memory freed at the top stays mapped up to that much per heap; larger
// frees (a replaced config snapshot) are still returned. The mmap threshold goes to 1 MiB
// with it (glibc stops adapting both once one is set): the 128 KiB chains of a streamed body
// come from the heap, not from an mmap each. Call once at start, before threads.
void tuneAllocator();

// Per-thread free lists for objects made and destroyed once per request (a Forwarder), up to
// kMaxSmallObject bytes in 64-byte classes, 64 blocks per class. glibc's tcache keeps only 7
// blocks of a size: under load one loop iteration frees a dozen exchanges' objects at once, and
// the rest went through the arena (about 250 instructions a block). A class uses it through
// operator new/delete (forwarder.h); a size above the limit goes to the global operator new.
// Sanitizer builds pass everything through.
inline constexpr size_t kMaxSmallObject = 1024;
void* allocateSmallObject(size_t n);
void freeSmallObject(void* p, size_t n);

// Frees the calling thread's cached blocks (buffer chains and small objects); afterwards that thread's frees bypass the cache.
// Call at the end of a thread that ran an event loop. Any thread.
void releaseThreadBufferPool();

// The allocator functions themselves, for tests (usable whether or not installed).
void* bufferPoolMallocForTest(size_t n);
void bufferPoolFreeForTest(void* p);
// Bytes the calling thread's cache holds (buffer chains only).
size_t bufferPoolCachedBytesForTest();
// Blocks of small objects the calling thread's cache holds.
size_t smallObjectsCachedForTest();

}  // namespace detour
