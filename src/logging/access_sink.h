#pragma once

// AccessSink: where one access log's lines go (stdout, stderr or a file that can be reopened
// after logrotate), and in which format. Lines are buffered and written with write(2) whole,
// so two sinks on one file never split each other's lines. Writer thread only, except where
// noted.

#include <string>
#include <string_view>

#include "config/config.h"

namespace detour {

class AccessSink {
 public:
  // `path` is "stdout", "stderr" or a file (opened for append). Any thread.
  AccessSink(std::string path, AccessLogFormat format);
  ~AccessSink();
  AccessSink(const AccessSink&) = delete;
  AccessSink& operator=(const AccessSink&) = delete;

  AccessLogFormat format() const { return format_; }
  // Appends `line` and a newline; writes out when the buffer is large.
  void append(std::string_view line);
  // Writes out the buffer.
  void flush();
  // Flushes, then reopens the file by its path (no-op for stdout/stderr).
  void reopen();

 private:
  void open();
  std::string path_;
  AccessLogFormat format_;
  int fd_ = -1;
  bool owns_fd_ = false;
  std::string buffer_;
};

}  // namespace detour
