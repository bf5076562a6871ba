#pragma once

// Counters for /metrics and /rules. Each worker owns one WorkerStats shard and is its only
// writer (relaxed atomics); the admin thread sums the shards when asked. Nothing here takes a
// lock: counters created on first use (a rule's, a backend's errors) are found again through
// a map only the worker touches, and published to readers on a PublishedList. Per-rule
// counters are keyed by rule name, so they survive reloads for rules that stay.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "admin/published_list.h"

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

// One backend's failed exchanges by kind (detour_upstream_errors_total). Single writer.
class UpstreamErrorCounts {
 public:
  UpstreamErrorCounts(std::string_view pool, std::string_view backend)
      : pool_(pool), backend_(backend) {}
  void add(UpstreamError e) { counts_[static_cast<size_t>(e)].fetch_add(1, std::memory_order_relaxed); }
  uint64_t count(UpstreamError e) const {
    return counts_[static_cast<size_t>(e)].load(std::memory_order_relaxed);
  }
  const std::string& pool() const { return pool_; }
  const std::string& backend() const { return backend_; }

 private:
  std::string pool_;
  std::string backend_;  // "" for errors of the pool as a whole (no healthy backend)
  std::array<std::atomic<uint64_t>, static_cast<size_t>(UpstreamError::kCount)> counts_{};
};

// Latency buckets (seconds) of detour_request_duration_seconds.
inline constexpr std::array<double, 12> kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};

class WorkerStats {
 public:
  // The counters of rule `name`; created on first use. Worker thread; no lock (a hash lookup;
  // callers cache the pointer per snapshot).
  RuleStats* rule(const std::string& name);
  // Counters for requests no rule matched, and for requests refused before routing.
  RuleStats& unmatched() { return unmatched_; }
  const RuleStats& unmatched() const { return unmatched_; }

  void recordLatency(double seconds);
  void recordRedirect(int code);
  // Counts a failed exchange with `backend` of `pool`. Worker thread; no lock, and no
  // allocation after the backend's first error.
  void recordUpstreamError(std::string_view pool, std::string_view backend, UpstreamError e);
  // The error counters of (pool, backend), created on first use. Worker thread.
  UpstreamErrorCounts& upstreamErrors(std::string_view pool, std::string_view backend);

  std::atomic<uint64_t> requests{0};

  // --- readers (any thread, no lock) ---
  // fn(name, stats) for every rule seen, once each, in no particular order.
  template <typename Fn>
  void forEachRule(Fn fn) const {
    rules_.forEach([&](const NamedRuleStats& r) { fn(r.name, r.stats); });
  }
  uint64_t latencyBucket(size_t i) const { return latency_[i].load(std::memory_order_relaxed); }
  uint64_t latencyCount() const { return latency_count_.load(std::memory_order_relaxed); }
  double latencySum() const;
  uint64_t redirects(int code) const;
  // fn("pool", "backend", kind, count) for every upstream error counter.
  template <typename Fn>
  void forEachUpstreamError(Fn fn) const {
    upstream_errors_.forEach([&](const UpstreamErrorCounts& c) {
      for (size_t k = 0; k < static_cast<size_t>(UpstreamError::kCount); ++k) {
        uint64_t v = c.count(static_cast<UpstreamError>(k));
        if (v != 0) fn(c.pool(), c.backend(), static_cast<UpstreamError>(k), v);
      }
    });
  }

 private:
  struct NamedRuleStats {
    explicit NamedRuleStats(const std::string& n) : name(n) {}
    std::string name;
    RuleStats stats;
  };
  // What readers walk; written by the worker only.
  PublishedList<NamedRuleStats> rules_;
  PublishedList<UpstreamErrorCounts> upstream_errors_;
  // The worker's own indexes into those lists (no other thread touches them).
  std::unordered_map<std::string, RuleStats*> rule_index_;
  std::unordered_map<std::string, UpstreamErrorCounts*> error_index_;  // "pool\0backend"
  std::string error_key_;  // scratch for lookups in error_index_
  RuleStats unmatched_;
  std::array<std::atomic<uint64_t>, kLatencyBuckets.size()> latency_{};
  std::atomic<uint64_t> latency_count_{0};
  std::atomic<uint64_t> latency_sum_us_{0};
  std::array<std::atomic<uint64_t>, 5> redirects_{};  // 301 302 303 307 308
};

}  // namespace detour
