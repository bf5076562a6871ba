#pragma once

// Renders /metrics (Prometheus text format 0.0.4) from a plain snapshot of the numbers, so the
// rendering is a pure function that tests can check line by line.

#include <cstdint>
#include <string>
#include <vector>

#include "admin/stats.h"
#include "routing/rule_table.h"
#include "upstream/health_checker.h"

namespace detour {

struct FlagMetric {
  std::string name;
  bool value = false;
  uint64_t changes = 0;
};

struct MetricsInput {
  const RuleTable* table = nullptr;          // the active table (rules with no traffic yet)
  std::vector<const WorkerStats*> workers;   // one shard per worker
  uint64_t connections_open = 0;
  uint64_t connections_accepted = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t parse_errors = 0;
  uint64_t reloads_ok = 0;
  uint64_t reloads_failed = 0;
  uint64_t generation = 0;
  bool draining = false;
  std::vector<FlagMetric> flags;
  std::vector<HealthChecker::BackendStatus> backends;
  std::vector<std::pair<std::string, bool>> pools;  // pool -> down
  uint64_t access_log_dropped = 0;
  uint64_t health_transitions = 0;
};

std::string renderMetrics(const MetricsInput& in);

// Escapes a Prometheus label value (backslash, double quote, newline).
std::string escapeLabel(const std::string& v);

}  // namespace detour
