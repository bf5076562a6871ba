#pragma once

// A per-thread cache of the memory blocks libevent allocates for its buffer chains.
//
// Every exchange fills and empties evbuffers: a chain is allocated for each read and each
// written response, and freed as soon as it is drained. libevent sizes chains in powers of two
// (1 KiB to 64 KiB here), which are all beyond glibc's thread cache (tcache stops at 1 KiB), so
// each one went through the arena's bins: about 700 instructions per proxied request, a tenth
// of a redirect's whole cost. Installed as libevent's allocator, this keeps freed blocks of
// those sizes on a small per-thread list and hands them out again; every other allocation is
// passed to malloc/free unchanged.
//
// Bounded: at most 256 KiB of each size class per thread (4 blocks of 64 KiB, 16 of 16 KiB...),
// so an idle worker holds well under 2 MiB. A block freed on another thread than the one that
// allocated it joins the freeing thread's list; both are plain malloc blocks, so that is safe.
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

// Frees the calling thread's cached blocks; afterwards that thread's frees bypass the cache.
// Call at the end of a thread that ran an event loop. Any thread.
void releaseThreadBufferPool();

// The allocator functions themselves, for tests (usable whether or not installed).
void* bufferPoolMallocForTest(size_t n);
void bufferPoolFreeForTest(void* p);
// Bytes the calling thread's cache holds.
size_t bufferPoolCachedBytesForTest();

}  // namespace detour
