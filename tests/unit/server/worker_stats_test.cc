#include "admin/stats.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

namespace detour {
namespace {

TEST(WorkerStats, ARuleNameGetsOneCounterSetForever) {
  WorkerStats s;
  RuleStats* a = s.rule("a");
  EXPECT_EQ(s.rule("a"), a);
  EXPECT_NE(s.rule("b"), a);
  a->hits.fetch_add(3);
  std::map<std::string, uint64_t> seen;
  s.forEachRule([&](const std::string& name, const RuleStats& st) { seen[name] += st.hits.load(); });
  EXPECT_EQ(seen, (std::map<std::string, uint64_t>{{"a", 3}, {"b", 0}}));
}

TEST(WorkerStats, UpstreamErrorsAreCountedPerPoolBackendAndKind) {
  WorkerStats s;
  s.recordUpstreamError("api", "a:1", UpstreamError::kConnectFailed);
  s.recordUpstreamError("api", "a:1", UpstreamError::kConnectFailed);
  s.recordUpstreamError("api", "b:1", UpstreamError::kResponseTimeout);
  s.recordUpstreamError("api", "", UpstreamError::kNoHealthyBackend);
  // The key keeps pool and backend apart: ("ap", "ia:1") is another backend.
  s.recordUpstreamError("ap", "ia:1", UpstreamError::kMalformed);
  std::map<std::tuple<std::string, std::string, int>, uint64_t> got;
  s.forEachUpstreamError([&](const std::string& p, const std::string& b, UpstreamError k, uint64_t n) {
    got[{p, b, static_cast<int>(k)}] += n;
  });
  EXPECT_EQ(got.size(), 4u);
  EXPECT_EQ((got[{"api", "a:1", static_cast<int>(UpstreamError::kConnectFailed)}]), 2u);
  EXPECT_EQ((got[{"api", "b:1", static_cast<int>(UpstreamError::kResponseTimeout)}]), 1u);
  EXPECT_EQ((got[{"api", "", static_cast<int>(UpstreamError::kNoHealthyBackend)}]), 1u);
  EXPECT_EQ((got[{"ap", "ia:1", static_cast<int>(UpstreamError::kMalformed)}]), 1u);
}

// The worker creates counters while the admin thread sums them: no lock on either side, and
// the reader sees every counter whole (run under ThreadSanitizer in CI).
TEST(WorkerStats, ReadersWalkTheCountersWhileTheWorkerAddsThem) {
  WorkerStats s;
  constexpr int kRules = 2000;
  std::atomic<bool> done{false};
  std::thread worker([&] {
    for (int i = 0; i < kRules; ++i) {
      s.rule("r" + std::to_string(i))->hits.fetch_add(1, std::memory_order_relaxed);
      s.recordUpstreamError("p", "b" + std::to_string(i % 50), UpstreamError::kAborted);
    }
    done.store(true, std::memory_order_release);
  });
  uint64_t last_total = 0;
  bool monotonic = true;
  for (bool finished = false; !finished;) {
    finished = done.load(std::memory_order_acquire);
    uint64_t total = 0;
    s.forEachRule([&](const std::string& name, const RuleStats& st) {
      total += st.hits.load(std::memory_order_relaxed);
      monotonic = monotonic && name[0] == 'r';
    });
    s.forEachUpstreamError([&](const std::string&, const std::string&, UpstreamError, uint64_t) {});
    monotonic = monotonic && total >= last_total;
    last_total = total;
  }
  worker.join();
  EXPECT_TRUE(monotonic);
  EXPECT_EQ(last_total, static_cast<uint64_t>(kRules));
}

}  // namespace
}  // namespace detour
