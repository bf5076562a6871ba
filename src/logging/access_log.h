#pragma once

// The access log: one line per exchange, JSON or combined. A worker copies the record into its
// own lock-free ring and goes on; the access-log writer thread (access_log_writer.h) formats
// and writes the lines in batches, so the data path never waits on the disk or on a lock. When
// a worker's ring is full the line is dropped and counted rather than blocking the worker.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"

namespace detour {

// What is known of one exchange when it ends. Views are only read during write(). A new field
// must also be carried by access_record_codec.cc (a static_assert there says so).
struct AccessRecord {
  std::chrono::system_clock::time_point time;  // when the request started
  std::string_view client;     // peer address without port
  std::string_view scheme;     // http | https, as the rules saw it (trusted X-Forwarded-Proto)
  std::string_view host;       // Host as received (or the absolute-form authority)
  std::string_view method;
  std::string_view target;     // request-target as received
  std::string_view protocol;   // "HTTP/1.1"
  int status = 0;
  uint16_t listener_port = 0;  // the port the request arrived on (0: unknown)
  std::string_view rule;       // matched rule name, or empty
  std::string_view location;   // redirect target, or empty
  std::string_view pool;       // forward pool, or empty
  std::string_view upstream;   // the backend that answered, or empty
  uint64_t bytes_in = 0;       // request bytes read (head and body)
  uint64_t bytes_out = 0;      // response bytes written
  double duration_ms = 0;      // first request byte to end of the response
  std::string_view request_id;
  std::string_view user_agent;
  std::string_view referer;
};

class AccessSink;

class AccessLog {
 public:
  // Builds the log for `cfg` (starting the writer thread if needed); returns a disabled log
  // when access logging is off. Main thread.
  static std::shared_ptr<AccessLog> create(const LogConfig& cfg);
  // The lines already queued are still written; then the file is closed. Any thread.
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  bool enabled() const { return sink_ != nullptr; }
  // Queues one line on the calling thread's ring: a copy of the record's fields, no lock, no
  // allocation (after the thread's first line), never a wait. A full ring drops the line
  // (dropped()). Any thread.
  void write(const AccessRecord& rec);
  // Reopens every access log file (SIGUSR1 after logrotate): lines queued before the call go
  // to the old file, lines queued after it returns to the new one. Waits for the writer (up
  // to 1 s). Main thread.
  void reopen();
  // Waits (up to 1 s) until the lines queued before the call are written. Not on a worker.
  void flush();
  // Writes every queued line and stops the writer thread. Call once at exit, after the
  // workers stopped (later writes are lost). Main thread.
  static void shutdown();
  // Lines dropped because a worker's ring was full, since start (all access logs).
  uint64_t dropped() const;

  // The line for `rec`, without newline (appended to `out` by the append* forms).
  static std::string formatJson(const AccessRecord& rec);
  static std::string formatCombined(const AccessRecord& rec);
  static void appendJson(std::string& out, const AccessRecord& rec);
  static void appendCombined(std::string& out, const AccessRecord& rec);

 private:
  AccessLog() = default;
  AccessSink* sink_ = nullptr;  // owned by the writer; retired by the destructor
};

}  // namespace detour
