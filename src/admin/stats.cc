#include "admin/stats.h"

namespace detour {

const char* upstreamErrorName(UpstreamError e) {
  switch (e) {
    case UpstreamError::kConnectFailed: return "connect_failed";
    case UpstreamError::kConnectTimeout: return "connect_timeout";
    case UpstreamError::kClosedBeforeHead: return "closed_before_head";
    case UpstreamError::kResponseTimeout: return "response_timeout";
    case UpstreamError::kMalformed: return "malformed_response";
    case UpstreamError::kAborted: return "aborted_mid_response";
    case UpstreamError::kNoHealthyBackend: return "no_healthy_backend";
    case UpstreamError::kCount: break;
  }
  return "unknown";
}

void StatusCounts::add(int status) {
  for (auto& s : slots_) {
    int st = s.status.load(std::memory_order_relaxed);
    if (st == status) {
      s.count.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (st == 0) {
      s.count.fetch_add(1, std::memory_order_relaxed);
      s.status.store(status, std::memory_order_release);  // publish after the count
      return;
    }
  }
  other_.fetch_add(1, std::memory_order_relaxed);
}

RuleStats* WorkerStats::rule(const std::string& name) {
  auto [it, added] = rule_index_.try_emplace(name, nullptr);
  if (added) it->second = &rules_.emplace(name).stats;
  return it->second;
}

void WorkerStats::recordLatency(double seconds) {
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) {
      latency_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  latency_count_.fetch_add(1, std::memory_order_relaxed);
  latency_sum_us_.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

double WorkerStats::latencySum() const {
  return static_cast<double>(latency_sum_us_.load(std::memory_order_relaxed)) / 1e6;
}

namespace {
int redirectIndex(int code) {
  switch (code) {
    case 301: return 0;
    case 302: return 1;
    case 303: return 2;
    case 307: return 3;
    case 308: return 4;
    default: return -1;
  }
}
}  // namespace

void WorkerStats::recordRedirect(int code) {
  int i = redirectIndex(code);
  if (i >= 0) redirects_[static_cast<size_t>(i)].fetch_add(1, std::memory_order_relaxed);
}

uint64_t WorkerStats::redirects(int code) const {
  int i = redirectIndex(code);
  return i < 0 ? 0 : redirects_[static_cast<size_t>(i)].load(std::memory_order_relaxed);
}

UpstreamErrorCounts& WorkerStats::upstreamErrors(std::string_view pool, std::string_view backend) {
  error_key_.assign(pool);
  error_key_ += '\0';
  error_key_.append(backend);
  auto it = error_index_.find(error_key_);
  if (it == error_index_.end()) {
    it = error_index_.emplace(error_key_, &upstream_errors_.emplace(pool, backend)).first;
  }
  return *it->second;
}

void WorkerStats::recordUpstreamError(std::string_view pool, std::string_view backend,
                                      UpstreamError e) {
  upstreamErrors(pool, backend).add(e);
}

}  // namespace detour
