#include "routing/runtime_state.h"

namespace detour {

FlagCell* RuntimeState::flagCell(const std::string& name, bool initial) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = flags_.find(name);
  if (it != flags_.end()) return it->second;
  FlagCell& cell = flag_cells_.emplace_back();
  cell.value.store(initial);
  flags_.emplace(name, &cell);
  return &cell;
}

void RuntimeState::applyFlagDefault(const std::string& name, bool value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = flags_.find(name);
  if (it == flags_.end()) {
    FlagCell& cell = flag_cells_.emplace_back();
    it = flags_.emplace(name, &cell).first;
  }
  if (!it->second->overridden.load()) it->second->value.store(value);
}

PoolCell* RuntimeState::poolCell(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pools_.find(name);
  if (it != pools_.end()) return it->second;
  PoolCell& cell = pool_cells_.emplace_back();
  pools_.emplace(name, &cell);
  return &cell;
}

BackendCell* RuntimeState::backendCell(const std::string& pool, const std::string& backend) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string key = pool + "|" + backend;
  auto it = backends_.find(key);
  if (it != backends_.end()) return it->second;
  BackendCell& cell = backend_cells_.emplace_back();
  backends_.emplace(key, &cell);
  return &cell;
}

FlagCell* RuntimeState::findFlag(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = flags_.find(name);
  return it == flags_.end() ? nullptr : it->second;
}

PoolCell* RuntimeState::findPool(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pools_.find(name);
  return it == pools_.end() ? nullptr : it->second;
}

}  // namespace detour
