#pragma once

// AccessLogWriter: the process's one access-log thread. Every thread that writes access lines
// (the workers) gets its own SpscRing the first time it does; a push copies the record into
// that ring and never blocks, locks or allocates. The writer thread wakes every
// kFlushInterval (or sooner, when a ring is a quarter full), formats the records (JSON or
// combined, per sink) and writes them in batches. A record that finds its ring full is dropped
// and counted (detour_access_log_dropped_total): a slow disk or a blocked stdout costs lines,
// never a worker's time. Like Envoy's buffered access log, which flushes on a timer.
//
// The writer's mutex guards its registry (rings, sinks) and its control requests (reopen,
// sync, retire, stop). It is taken by the main thread, by the writer once per wake, and by a
// worker only twice in its life: when it registers its ring (its first line) and when it
// drops the last reference to an AccessLog (a reload changed the log settings).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "logging/access_log.h"
#include "logging/access_sink.h"
#include "logging/spsc_ring.h"

namespace detour {

class AccessLogWriter {
 public:
  static constexpr size_t kRingBytes = size_t{1} << 20;  // per writing thread
  static constexpr std::chrono::milliseconds kFlushInterval{100};

  // The process-wide writer (never destroyed; stop() joins its thread, and so does exit).
  static AccessLogWriter& instance();

  // Takes `sink` and starts the writer thread if it is not running. Any thread.
  AccessSink* add(std::unique_ptr<AccessSink> sink);
  // The lines queued for `sink` before this call are written, then the sink is closed. Any
  // thread; does not wait.
  void retire(AccessSink* sink);
  // Queues `rec` for `sink` on the calling thread's ring. Never blocks. False when the line
  // was dropped (ring full, or the writer stopped).
  bool push(const AccessRecord& rec, AccessSink* sink);
  // Waits up to `timeout` until every line queued before the call is written (and, with
  // `reopen`, every file reopened before those lines' successors). True when done. Main
  // thread or tests; never on a worker (it waits).
  bool sync(bool reopen, std::chrono::milliseconds timeout);
  // Writes everything queued, then joins the thread. Call after every writing thread stopped;
  // later pushes are dropped until add() starts the thread again. Any thread but the writer.
  void stop();
  // Lines dropped since start, all rings. Any thread.
  uint64_t dropped();

  // Ring size for threads that have not written yet (tests of the full ring).
  void setRingBytesForTest(size_t bytes) { ring_bytes_ = bytes; }

 private:
  struct Control {
    uint64_t sync = 0;
    bool reopen = false;
    bool stop = false;
    std::vector<AccessSink*> retiring;
    std::vector<AccessSink*> sinks;
    std::vector<SpscRing*> rings;
  };
  AccessLogWriter();
  SpscRing* threadRing();
  void wake();
  void run();
  Control takeControl();
  void finishIteration(const Control& c);
  void drain(const std::vector<SpscRing*>& rings);
  void writeRecord(std::string_view record);
  void waitForWork();
  void discardQueuedLocked();

  int wake_fd_ = -1;
  std::atomic<bool> wake_pending_{false};
  std::atomic<bool> running_{false};
  size_t ring_bytes_ = kRingBytes;

  std::mutex mu_;
  std::condition_variable synced_;
  std::vector<std::unique_ptr<SpscRing>> rings_;   // never shrinks: threads keep raw pointers
  std::vector<std::unique_ptr<AccessSink>> sinks_;
  std::vector<AccessSink*> retiring_;
  uint64_t sync_requested_ = 0;
  uint64_t sync_done_ = 0;
  uint64_t reopen_requested_ = 0;  // the sync number of the last reopen asked for
  uint64_t reopen_done_ = 0;
  bool stop_ = false;
  std::thread thread_;

  // Writer thread only.
  std::string line_;
  std::vector<AccessSink*> touched_;
};

}  // namespace detour
