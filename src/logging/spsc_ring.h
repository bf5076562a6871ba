#pragma once

// SpscRing: a bounded single-producer/single-consumer queue of variable-size byte records in
// one preallocated buffer, with no lock and no allocation after construction. One thread
// writes records (tryWrite), one other thread reads them in order (front/pop). A record that
// does not fit is refused and counted (dropped()); the producer never waits.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace detour {

class SpscRing {
 public:
  // `capacity` bytes of buffer, rounded up to a power of two (at least 64).
  explicit SpscRing(size_t capacity);
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  size_t capacity() const { return capacity_; }
  // The largest record tryWrite() can ever take (half the capacity, less a header).
  size_t maxRecord() const { return capacity_ / 2 - kHeader; }

  // --- producer thread ---
  // Reserves a contiguous `size`-byte record, lets `fill(std::span<char>)` write it, then
  // publishes it. Returns false (and counts a drop) when the ring has no room for it now, or
  // when `size` exceeds maxRecord(); `fill` is not called then.
  template <typename Fill>
  bool tryWrite(size_t size, Fill&& fill) {
    char* at = reserve(size);
    if (at == nullptr) return false;
    fill(std::span<char>(at, size));
    publish(size);
    return true;
  }
  // Bytes in use, as the producer last saw the consumer (an upper bound).
  size_t usedByProducer() const { return static_cast<size_t>(head_ - tail_seen_); }
  // Bytes in use, after looking at the consumer's position again.
  size_t usedByProducerNow() {
    tail_seen_ = tail_pub_.load(std::memory_order_acquire);
    return usedByProducer();
  }

  // --- consumer thread ---
  // The end of what the producer has published so far. Records before it can be read with
  // front()/pop() while position() is below it.
  uint64_t publishedEnd() {
    head_seen_ = head_pub_.load(std::memory_order_acquire);
    return head_seen_;
  }
  uint64_t position() const { return tail_; }
  // The oldest record, or an empty view when there is none. Valid until pop().
  std::string_view front();
  // Releases the record front() returned. Only after a non-empty front().
  void pop();

  // --- any thread ---
  // Records refused because the ring was full (or the record too large).
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kHeader = 8;      // uint32 length, 4 bytes of padding
  static constexpr uint32_t kWrap = ~0u;  // "the rest of this lap is unused"
  static size_t padded(size_t size) { return (kHeader + size + 7) & ~size_t{7}; }
  char* reserve(size_t size);
  void publish(size_t size);

  size_t capacity_;
  size_t mask_;
  std::unique_ptr<char[]> buf_;
  // Positions count bytes since construction and never wrap (2^64 bytes is centuries).
  alignas(64) std::atomic<uint64_t> head_pub_{0};  // written by the producer (release)
  uint64_t head_ = 0;                              // producer's own copy
  uint64_t tail_seen_ = 0;                         // producer's last view of the tail
  std::atomic<uint64_t> dropped_{0};               // producer writes, anyone reads
  alignas(64) std::atomic<uint64_t> tail_pub_{0};  // written by the consumer (release)
  uint64_t tail_ = 0;                              // consumer's own copy
  uint64_t head_seen_ = 0;                         // consumer's last view of the head
  size_t front_size_ = 0;                          // padded size of the record front() gave
};

}  // namespace detour
