#include "logging/access_log_writer.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "logging/access_record_codec.h"

namespace detour {
namespace {

// Each ring record starts with its kind: the encoded record itself, or (for a record larger
// than the ring takes, from heads near server.limits.max_header_bytes) a pointer to it on the
// heap.
enum class RecordKind : uint64_t { kInline = 1, kHeap = 2 };
constexpr size_t kKindBytes = sizeof(RecordKind);

void putKind(std::span<char> out, RecordKind kind) { std::memcpy(out.data(), &kind, kKindBytes); }

thread_local SpscRing* t_ring = nullptr;

}  // namespace

AccessLogWriter& AccessLogWriter::instance() {
  // Never destroyed: threads keep pointers to their rings until the process ends.
  static AccessLogWriter* writer = new AccessLogWriter();
  // A process that ends without AccessLog::shutdown() (a server that failed to start) still
  // writes what was queued and joins the writer, at exit.
  static struct StopAtExit {
    ~StopAtExit() { writer->stop(); }
  } stop_at_exit;
  return *writer;
}

AccessLogWriter::AccessLogWriter() {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error("eventfd failed");
}

AccessSink* AccessLogWriter::add(std::unique_ptr<AccessSink> sink) {
  std::lock_guard<std::mutex> lock(mu_);
  AccessSink* raw = sink.get();
  sinks_.push_back(std::move(sink));
  if (!running_.load(std::memory_order_relaxed)) {
    discardQueuedLocked();  // no writer thread: this one is the rings' consumer for now
    running_.store(true, std::memory_order_relaxed);
    thread_ = std::thread([this] { run(); });
  }
  return raw;
}

void AccessLogWriter::retire(AccessSink* sink) {
  std::unique_ptr<AccessSink> doomed;
  std::lock_guard<std::mutex> lock(mu_);
  if (running_.load(std::memory_order_relaxed)) {
    retiring_.push_back(sink);  // closed after the writer's next pass
    return;
  }
  auto it = std::find_if(sinks_.begin(), sinks_.end(), [&](const auto& s) { return s.get() == sink; });
  if (it == sinks_.end()) return;
  doomed = std::move(*it);
  sinks_.erase(it);
}

SpscRing* AccessLogWriter::threadRing() {
  if (t_ring != nullptr) return t_ring;
  std::lock_guard<std::mutex> lock(mu_);  // once per thread
  rings_.push_back(std::make_unique<SpscRing>(ring_bytes_));
  t_ring = rings_.back().get();
  return t_ring;
}

bool AccessLogWriter::push(const AccessRecord& rec, AccessSink* sink) {
  if (!running_.load(std::memory_order_relaxed)) return false;
  SpscRing& ring = *threadRing();
  size_t size = encodedAccessRecordSize(rec);
  bool ok;
  if (kKindBytes + size <= ring.maxRecord()) {
    ok = ring.tryWrite(kKindBytes + size, [&](std::span<char> out) {
      putKind(out, RecordKind::kInline);
      encodeAccessRecord(rec, sink, out.subspan(kKindBytes));
    });
  } else {
    auto heap = std::make_unique<std::string>(size, '\0');
    encodeAccessRecord(rec, sink, std::span<char>(heap->data(), heap->size()));
    std::string* raw = heap.get();
    ok = ring.tryWrite(kKindBytes + sizeof raw, [&](std::span<char> out) {
      putKind(out, RecordKind::kHeap);
      std::memcpy(out.data() + kKindBytes, &raw, sizeof raw);
    });
    if (ok) heap.release();  // the writer deletes it
  }
  // Wake the writer early when the ring fills faster than the timer drains it. The second,
  // fresh look at the consumer keeps a stale view from waking it on every line.
  size_t quarter = ring.capacity() / 4;
  if (ring.usedByProducer() >= quarter && ring.usedByProducerNow() >= quarter &&
      !wake_pending_.load(std::memory_order_relaxed) && !wake_pending_.exchange(true)) {
    wake();
  }
  return ok;
}

bool AccessLogWriter::sync(bool reopen, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!running_.load(std::memory_order_relaxed)) {
    if (reopen) {
      for (auto& s : sinks_) s->reopen();  // no writer thread to race with
    }
    return true;
  }
  uint64_t seq = ++sync_requested_;
  if (reopen) reopen_requested_ = seq;
  wake();
  return synced_.wait_for(lock, timeout, [&] {
    return sync_done_ >= seq || !running_.load(std::memory_order_relaxed);
  });
}

void AccessLogWriter::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_.load(std::memory_order_relaxed)) return;
    running_.store(false, std::memory_order_relaxed);  // later pushes are refused
    stop_ = true;
  }
  wake();
  thread_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
  }
  synced_.notify_all();
}

uint64_t AccessLogWriter::dropped() {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t n = 0;
  for (const auto& r : rings_) n += r->dropped();
  return n;
}

void AccessLogWriter::wake() {
  uint64_t one = 1;
  ssize_t n = write(wake_fd_, &one, sizeof one);
  (void)n;  // EAGAIN: a wake-up is already pending
}

void AccessLogWriter::run() {
  for (;;) {
    Control c = takeControl();
    // Lines queued before a reopen request go to the old file, the lines after it to the new.
    drain(c.rings);
    for (AccessSink* s : touched_) s->flush();
    touched_.clear();
    if (c.reopen) {
      for (AccessSink* s : c.sinks) s->reopen();
    }
    finishIteration(c);
    if (c.stop) return;
    waitForWork();
  }
}

AccessLogWriter::Control AccessLogWriter::takeControl() {
  std::lock_guard<std::mutex> lock(mu_);
  Control c;
  c.sync = sync_requested_;
  c.reopen = reopen_requested_ > reopen_done_;
  reopen_done_ = reopen_requested_;
  c.stop = stop_;
  c.retiring.swap(retiring_);
  for (const auto& s : sinks_) c.sinks.push_back(s.get());
  for (const auto& r : rings_) c.rings.push_back(r.get());
  return c;
}

void AccessLogWriter::finishIteration(const Control& c) {
  std::vector<std::unique_ptr<AccessSink>> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Every line of a retired sink was queued before its retire request, so it is written.
    for (AccessSink* r : c.retiring) {
      auto it = std::find_if(sinks_.begin(), sinks_.end(), [&](const auto& s) { return s.get() == r; });
      if (it == sinks_.end()) continue;
      doomed.push_back(std::move(*it));
      sinks_.erase(it);
    }
    sync_done_ = std::max(sync_done_, c.sync);
  }
  synced_.notify_all();
}

// Everything published when the pass starts: what was queued before the control requests this
// pass answers. Records published meanwhile wait for the next pass.
void AccessLogWriter::drain(const std::vector<SpscRing*>& rings) {
  for (SpscRing* ring : rings) {
    uint64_t end = ring->publishedEnd();
    while (ring->position() < end) {
      writeRecord(ring->front());
      ring->pop();
    }
  }
}

void AccessLogWriter::writeRecord(std::string_view record) {
  RecordKind kind;
  std::memcpy(&kind, record.data(), kKindBytes);
  std::unique_ptr<std::string> heap;
  std::string_view encoded = record.substr(kKindBytes);
  if (kind == RecordKind::kHeap) {
    std::string* raw;
    std::memcpy(&raw, encoded.data(), sizeof raw);
    heap.reset(raw);
    encoded = *heap;
  }
  DecodedAccessRecord d = decodeAccessRecord(encoded);
  line_.clear();
  if (d.sink->format() == AccessLogFormat::kJson) {
    AccessLog::appendJson(line_, d.record);
  } else {
    AccessLog::appendCombined(line_, d.record);
  }
  d.sink->append(line_);
  if (std::find(touched_.begin(), touched_.end(), d.sink) == touched_.end()) touched_.push_back(d.sink);
}

void AccessLogWriter::waitForWork() {
  pollfd p{wake_fd_, POLLIN, 0};
  poll(&p, 1, static_cast<int>(kFlushInterval.count()));
  uint64_t count;
  ssize_t n = read(wake_fd_, &count, sizeof count);
  (void)n;
  wake_pending_.store(false);
}

// Records a thread pushed after a stop (against stop()'s contract) would name sinks that may
// be gone: a restarted writer drops them unread.
void AccessLogWriter::discardQueuedLocked() {
  for (const auto& ring : rings_) {
    uint64_t end = ring->publishedEnd();
    while (ring->position() < end) {
      std::string_view record = ring->front();
      RecordKind kind;
      std::memcpy(&kind, record.data(), kKindBytes);
      if (kind == RecordKind::kHeap) {
        std::string* raw;
        std::memcpy(&raw, record.data() + kKindBytes, sizeof raw);
        delete raw;
      }
      ring->pop();
    }
  }
}

}  // namespace detour
