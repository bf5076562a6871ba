#include "logging/access_sink.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "logging/logging.h"

namespace detour {
namespace {

constexpr size_t kBufferBytes = 64 * 1024;

// Writes all of `data`, waiting when the descriptor is non-blocking and full. On another
// error (a closed pipe, a full disk) the rest of `data` is lost.
void writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n >= 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      pollfd p{fd, POLLOUT, 0};
      poll(&p, 1, 1000);
    } else if (errno != EINTR) {
      return;
    }
  }
}

}  // namespace

AccessSink::AccessSink(std::string path, AccessLogFormat format)
    : path_(std::move(path)), format_(format) {
  buffer_.reserve(kBufferBytes + 4096);
  open();
}

AccessSink::~AccessSink() {
  flush();
  if (owns_fd_ && fd_ >= 0) close(fd_);
}

void AccessSink::open() {
  if (path_ == "stdout" || path_ == "stderr") {
    fd_ = path_ == "stdout" ? STDOUT_FILENO : STDERR_FILENO;
    return;
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  owns_fd_ = fd_ >= 0;
  if (fd_ < 0) log().error("cannot open access log {}: {}", path_, strerror(errno));
}

void AccessSink::append(std::string_view line) {
  if (fd_ < 0) return;
  buffer_.append(line);
  buffer_ += '\n';
  if (buffer_.size() >= kBufferBytes) flush();
}

void AccessSink::flush() {
  if (fd_ >= 0 && !buffer_.empty()) writeAll(fd_, buffer_);
  buffer_.clear();
}

void AccessSink::reopen() {
  flush();
  if (path_ == "stdout" || path_ == "stderr") return;
  if (owns_fd_) close(fd_);
  owns_fd_ = false;
  open();  // a file that could not be opened before is tried again
}

}  // namespace detour
