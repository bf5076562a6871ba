#pragma once

// RuntimeState holds what changes while detour runs and survives reloads: flag values and pool
// health. Compiled rule tables keep raw pointers to its cells, which never move (std::deque),
// so the request path reads them with one relaxed atomic load and no lock.

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace detour {

struct FlagCell {
  std::atomic<bool> value{false};
  // Set by the admin API; a reload then keeps `value` instead of taking the config's default.
  std::atomic<bool> overridden{false};
};

struct PoolCell {
  // True when the pool has no healthy backend. Written by the health checker.
  std::atomic<bool> down{false};
};

// One backend of one pool, as the health checker sees it. Workers read `up` when they pick a
// backend and bump `failures_seen` for passive checks; the health checker (main thread) owns
// the state machine and writes `up`.
struct BackendCell {
  std::atomic<bool> up{true};
  // Passive failures reported since the last success (workers increment; the checker resets).
  std::atomic<uint32_t> recent_failures{0};
};

class RuntimeState {
 public:
  // Returns the cell for flag `name`, creating it with `initial` when new. An existing cell
  // keeps its value: compiling a table (which may belong to a reload that fails later) changes
  // no live flag. Thread-safe; called when compiling a table, never per request.
  FlagCell* flagCell(const std::string& name, bool initial);
  // A config that sets flag `name`'s default to `value` was committed: the flag takes it unless
  // it was set at runtime (an override survives reloads). Thread-safe.
  void applyFlagDefault(const std::string& name, bool value);
  // Returns the cell for pool `name`, creating it (not down) when new. Thread-safe.
  PoolCell* poolCell(const std::string& name);

  // Returns the cell for backend `backend` of pool `pool`, creating it (up) when new.
  // Thread-safe; called when a worker builds its view of a pool, never per request.
  BackendCell* backendCell(const std::string& pool, const std::string& backend);

  // Lookups for the admin API and tools; nullptr when absent. Thread-safe.
  FlagCell* findFlag(const std::string& name);
  PoolCell* findPool(const std::string& name);

 private:
  std::mutex mu_;
  std::deque<FlagCell> flag_cells_;
  std::deque<PoolCell> pool_cells_;
  std::deque<BackendCell> backend_cells_;
  std::map<std::string, BackendCell*, std::less<>> backends_;
  std::map<std::string, FlagCell*, std::less<>> flags_;
  std::map<std::string, PoolCell*, std::less<>> pools_;
};

}  // namespace detour
