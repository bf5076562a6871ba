#include "upstream/backend_health.h"

namespace detour {

bool BackendHealth::record(bool ok) {
  if (ok) {
    failures_ = 0;
    ++successes_;
    if (!up_ && successes_ >= rise_) {
      up_ = true;
      successes_ = 0;
      return true;
    }
    return false;
  }
  successes_ = 0;
  ++failures_;
  if (up_ && failures_ >= fall_) {
    up_ = false;
    failures_ = 0;
    return true;
  }
  return false;
}

void BackendHealth::setUp(bool up) {
  up_ = up;
  failures_ = 0;
  successes_ = 0;
}

void BackendHealth::setThresholds(int fall, int rise) {
  fall_ = fall < 1 ? 1 : fall;
  rise_ = rise < 1 ? 1 : rise;
}

}  // namespace detour
