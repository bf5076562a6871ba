#pragma once

// Rise/fall hysteresis for one backend (pure; no I/O, no clock of its own).
// A backend starts up. `fall` consecutive failures mark it down; once down, `rise` consecutive
// successes mark it up again. Without active checks nothing would bring a passively failed
// backend back, so such a backend is retried after a cool-off (`down_until_ms`).

#include <cstdint>

namespace detour {

class BackendHealth {
 public:
  BackendHealth(int fall, int rise) : fall_(fall < 1 ? 1 : fall), rise_(rise < 1 ? 1 : rise) {}

  // Records one check or request result. Returns true when the up/down state changed.
  bool record(bool ok);
  bool up() const { return up_; }
  int consecutiveFailures() const { return failures_; }
  int consecutiveSuccesses() const { return successes_; }
  // Forces the state (e.g. the passive cool-off ended); counters restart.
  void setUp(bool up);
  void setThresholds(int fall, int rise);

 private:
  int fall_;
  int rise_;
  bool up_ = true;
  int failures_ = 0;
  int successes_ = 0;
};

}  // namespace detour
