#include "logging/spsc_ring.h"

#include <bit>
#include <cstring>

namespace detour {

SpscRing::SpscRing(size_t capacity)
    : capacity_(std::bit_ceil(capacity < 64 ? size_t{64} : capacity)),
      mask_(capacity_ - 1),
      // Default-initialised: the pages are touched only as records reach them.
      buf_(new char[capacity_]) {}

char* SpscRing::reserve(size_t size) {
  if (size > maxRecord()) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  size_t need = padded(size);
  size_t pos = static_cast<size_t>(head_ & mask_);
  // A record never straddles the end: the rest of the lap is skipped instead.
  size_t skip = capacity_ - pos < need ? capacity_ - pos : 0;
  if (capacity_ - usedByProducer() < skip + need) {
    tail_seen_ = tail_pub_.load(std::memory_order_acquire);
    if (capacity_ - usedByProducer() < skip + need) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
  }
  if (skip != 0) {
    std::memcpy(buf_.get() + pos, &kWrap, sizeof kWrap);
    head_ += skip;
    pos = 0;
  }
  uint32_t len = static_cast<uint32_t>(size);
  std::memcpy(buf_.get() + pos, &len, sizeof len);
  return buf_.get() + pos + kHeader;
}

void SpscRing::publish(size_t size) {
  head_ += padded(size);
  head_pub_.store(head_, std::memory_order_release);
}

std::string_view SpscRing::front() {
  for (;;) {
    if (tail_ == head_seen_) {
      head_seen_ = head_pub_.load(std::memory_order_acquire);
      if (tail_ == head_seen_) return {};
    }
    size_t pos = static_cast<size_t>(tail_ & mask_);
    uint32_t len;
    std::memcpy(&len, buf_.get() + pos, sizeof len);
    if (len == kWrap) {
      tail_ += capacity_ - pos;
      continue;
    }
    front_size_ = padded(len);
    return std::string_view(buf_.get() + pos + kHeader, len);
  }
}

void SpscRing::pop() {
  tail_ += front_size_;
  front_size_ = 0;
  tail_pub_.store(tail_, std::memory_order_release);
}

}  // namespace detour
