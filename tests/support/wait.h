#pragma once

// Waiting on a condition in tests: poll it with a deadline, never a bare sleep.

#include <chrono>
#include <thread>

namespace detour::test {

// Polls `pred` every few milliseconds until it holds or `timeout` passes; its last answer.
template <typename Pred>
bool waitUntil(Pred pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

}  // namespace detour::test
