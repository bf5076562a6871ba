#pragma once

// Counters for /metrics and /rules. Each worker owns one WorkerStats shard and is its only
// writer (relaxed atomics, no lock on the request path); the admin thread sums the shards when
// asked. Per-rule counters are keyed by rule name, so they survive reloads for rules that
// stay.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace detour {

// Upstream failures by kind (labels of detour_upstream_errors_total).
enum class UpstreamError {
  kConnectFailed,     // refused, unreachable, reset while connecting
  kConnectTimeout,
  kClosedBeforeHead,  // the backend closed before a complete response head
  kResponseTimeout,   // no response head within upstream_response (504)
  kMalformed,         // not HTTP, or bad framing (502)
  kAborted,           // broke off mid-response (client connection closed)
  kNoHealthyBackend,  // the pool had no backend up (503)
  kCount
};
const char* upstreamErrorName(UpstreamError e);

// Per-status counts with a handful of slots (first come, first served) and an overflow bucket
// labelled status="other". Single writer.
class StatusCounts {
 public:
  static constexpr size_t kSlots = 12;
  void add(int status);
  // Calls fn(status, count) for every slot in use; status 0 means "other".
  template <typename Fn>
  void forEach(Fn fn) const {
    for (const auto& s : slots_) {
      int st = s.status.load(std::memory_order_acquire);
      if (st != 0) fn(st, s.count.load(std::memory_order_relaxed));
    }
    uint64_t o = other_.load(std::memory_order_relaxed);
    if (o != 0) fn(0, o);
  }

 private:
  struct Slot {
    std::atomic<int> status{0};
    std::atomic<uint64_t> count{0};
  };
  std::array<Slot, kSlots> slots_;
  std::atomic<uint64_t> other_{0};
};

struct RuleStats {
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> bodies_at_risk{0};  // body-carrying method answered 301/302
  StatusCounts statuses;
};

// Latency buckets (seconds) of detour_request_duration_seconds.
inline constexpr std::array<double, 12> kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};

class WorkerStats {
 public:
  // The counters of rule `name`; created on first use. Worker thread. Cheap after the first
  // call for a name (callers cache the pointer per snapshot).
  RuleStats* rule(const std::string& name);
  // Counters for requests no rule matched, and for requests refused before routing.
  RuleStats& unmatched() { return unmatched_; }
  const RuleStats& unmatched() const { return unmatched_; }

  void recordLatency(double seconds);
  void recordRedirect(int code);
  void recordUpstreamError(const std::string& pool, const std::string& backend, UpstreamError e);

  std::atomic<uint64_t> requests{0};

  // --- readers (any thread) ---
  // fn(name, stats) for every rule seen, under the shard's lock (short).
  template <typename Fn>
  void forEachRule(Fn fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, st] : rules_) fn(name, *st);
  }
  uint64_t latencyBucket(size_t i) const { return latency_[i].load(std::memory_order_relaxed); }
  uint64_t latencyCount() const { return latency_count_.load(std::memory_order_relaxed); }
  double latencySum() const;
  uint64_t redirects(int code) const;
  // fn("pool", "backend", kind, count) for every upstream error counter.
  template <typename Fn>
  void forEachUpstreamError(Fn fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, arr] : upstream_errors_) {
      for (size_t k = 0; k < arr->size(); ++k) {
        uint64_t v = (*arr)[k].load(std::memory_order_relaxed);
        if (v != 0) fn(key.first, key.second, static_cast<UpstreamError>(k), v);
      }
    }
  }

 private:
  mutable std::mutex mu_;  // guards the maps' structure, not the counters
  std::map<std::string, std::unique_ptr<RuleStats>> rules_;
  RuleStats unmatched_;
  std::array<std::atomic<uint64_t>, kLatencyBuckets.size()> latency_{};
  std::atomic<uint64_t> latency_count_{0};
  std::atomic<uint64_t> latency_sum_us_{0};
  std::array<std::atomic<uint64_t>, 5> redirects_{};  // 301 302 303 307 308
  using ErrorArray = std::array<std::atomic<uint64_t>, static_cast<size_t>(UpstreamError::kCount)>;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<ErrorArray>> upstream_errors_;
};

}  // namespace detour
