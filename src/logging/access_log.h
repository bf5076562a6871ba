#pragma once

// The access log: one line per exchange, JSON or combined, written through spdlog's async
// logger so the data path never waits on the disk. When the queue is full the oldest lines are
// dropped (and counted) rather than blocking a worker.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"

namespace spdlog {
class logger;
}

namespace detour {

// What is known of one exchange when it ends. Views are only read during write().
struct AccessRecord {
  std::chrono::system_clock::time_point time;  // when the request started
  std::string_view client;     // peer address without port
  std::string_view scheme;     // http | https, as the rules saw it (trusted X-Forwarded-Proto)
  uint16_t listener_port = 0;  // the port the request arrived on (0: unknown)
  std::string_view host;       // Host as received (or the absolute-form authority)
  std::string_view method;
  std::string_view target;     // request-target as received
  std::string_view protocol;   // "HTTP/1.1"
  int status = 0;
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

class AccessLog {
 public:
  // Builds the log for `cfg`; returns a disabled log when access logging is off. Main thread.
  static std::shared_ptr<AccessLog> create(const LogConfig& cfg);
  ~AccessLog();

  bool enabled() const { return logger_ != nullptr; }
  // Formats and queues one line. Any thread.
  void write(const AccessRecord& rec);
  // Reopens the file (SIGUSR1 after logrotate). No-op for stdout/stderr. Any thread.
  void reopen();
  // Writes out what is queued. Any thread.
  void flush();
  // Writes every queued line and stops the writer thread. Call once at exit, after the
  // workers stopped (later writes are lost). Main thread.
  static void shutdown();
  // Lines dropped because the queue was full.
  uint64_t dropped() const;

  // The line for `rec`, without newline; exposed for tests.
  static std::string formatJson(const AccessRecord& rec);
  static std::string formatCombined(const AccessRecord& rec);

 private:
  AccessLog() = default;
  AccessLogFormat format_ = AccessLogFormat::kJson;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<void> reopener_;  // the file sink, when logging to a file
};

}  // namespace detour
