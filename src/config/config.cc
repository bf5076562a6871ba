#include "config/config.h"

namespace detour {

const PoolConfig* Config::findPool(const std::string& name) const {
  for (const auto& p : pools) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const FlagConfig* Config::findFlag(const std::string& name) const {
  for (const auto& f : flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace detour
