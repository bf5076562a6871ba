#pragma once

// A pool as one worker sees it: its backends and the balancing choice. Picking is pure
// bookkeeping (no I/O). Loop thread only.

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "upstream/backend.h"

namespace detour {

class Pool {
 public:
  Pool(std::string name, Balance balance, size_t keepalive)
      : name_(std::move(name)), balance_(balance), keepalive_(keepalive) {}

  const std::string& name() const { return name_; }
  size_t keepalive() const { return keepalive_; }
  const std::vector<std::shared_ptr<Backend>>& backends() const { return backends_; }
  void setBackends(std::vector<std::shared_ptr<Backend>> backends) { backends_ = std::move(backends); }

  // The next backend to try, skipping those `usable` rejects (down, or already tried)
  // (round_robin: in turn; least_conn: fewest exchanges in flight, ties in turn).
  // Returns null when none is left.
  template <typename Usable>
  std::shared_ptr<Backend> pick(Usable usable);

 private:
  std::string name_;
  Balance balance_;
  size_t keepalive_;
  std::vector<std::shared_ptr<Backend>> backends_;
  size_t next_ = 0;  // round-robin cursor
};

template <typename Usable>
std::shared_ptr<Backend> Pool::pick(Usable usable) {
  size_t n = backends_.size();
  std::shared_ptr<Backend> best;
  for (size_t k = 0; k < n; ++k) {
    const auto& b = backends_[(next_ + k) % n];
    if (!usable(*b)) continue;
    if (balance_ == Balance::kRoundRobin) {
      next_ = (next_ + k + 1) % n;
      return b;
    }
    if (!best || b->active() < best->active()) best = b;
  }
  if (best) next_ = (next_ + 1) % n;
  return best;
}

}  // namespace detour
