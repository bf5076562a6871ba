#include "logging/access_log.h"

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cstdio>
#include <ctime>
#include <mutex>

#include "common/string_util.h"
#include "logging/logging.h"

namespace detour {
namespace {

// A plain file sink that can reopen its path (logrotate moves the file, then SIGUSR1).
class ReopenableFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit ReopenableFileSink(std::string path) : path_(std::move(path)) { openLocked(); }
  ~ReopenableFileSink() override {
    if (file_ != nullptr) fclose(file_);
  }
  void reopen() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (file_ != nullptr) fclose(file_);
    openLocked();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (file_ == nullptr) return;
    fwrite(msg.payload.data(), 1, msg.payload.size(), file_);
    fputc('\n', file_);
  }
  void flush_() override {
    if (file_ != nullptr) fflush(file_);
  }

 private:
  void openLocked() {
    file_ = fopen(path_.c_str(), "ae");
    if (file_ == nullptr) detour::log().error("cannot open access log {}: {}", path_, strerror(errno));
  }
  std::string path_;
  FILE* file_ = nullptr;
};

// stdout without the sink's own formatting: the payload is the whole line.
class RawStdoutSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit RawStdoutSink(FILE* f) : file_(f) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    fwrite(msg.payload.data(), 1, msg.payload.size(), file_);
    fputc('\n', file_);
  }
  void flush_() override { fflush(file_); }

 private:
  FILE* file_;
};

// The one writer thread of every access log. Created on first use; shutdown() joins it.
std::shared_ptr<spdlog::details::thread_pool>& poolSlot() {
  static std::shared_ptr<spdlog::details::thread_pool> pool;
  return pool;
}

std::shared_ptr<spdlog::details::thread_pool> accessThreadPool() {
  auto& pool = poolSlot();
  if (!pool) pool = std::make_shared<spdlog::details::thread_pool>(16384, 1);
  return pool;
}

void appendField(std::string& out, const char* name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":\"";
  appendJsonEscaped(out, value);
  out += '"';
}

std::string isoTime(std::chrono::system_clock::time_point tp) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm_utc;
  gmtime_r(&secs, &tm_utc);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm_utc);
  snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

// Combined-format fields are quoted; escape what would break the quoting.
void appendQuoted(std::string& out, std::string_view v) {
  out += '"';
  if (v.empty()) out += '-';
  for (char c : v) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\' || u < 0x20 || u >= 0x7f) {
      char esc[5];
      snprintf(esc, sizeof esc, "\\x%02x", u);
      out += esc;
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

std::shared_ptr<AccessLog> AccessLog::create(const LogConfig& cfg) {
  std::shared_ptr<AccessLog> out(new AccessLog());
  if (!cfg.access_enabled) return out;
  out->format_ = cfg.access_format;
  spdlog::sink_ptr sink;
  if (cfg.access_path == "stdout" || cfg.access_path == "stderr") {
    sink = std::make_shared<RawStdoutSink>(cfg.access_path == "stdout" ? stdout : stderr);
  } else {
    auto file = std::make_shared<ReopenableFileSink>(cfg.access_path);
    out->reopener_ = file;
    sink = file;
  }
  out->logger_ = std::make_shared<spdlog::async_logger>(
      "access", std::move(sink), accessThreadPool(), spdlog::async_overflow_policy::overrun_oldest);
  out->logger_->set_level(spdlog::level::info);
  out->logger_->flush_on(spdlog::level::info);
  return out;
}

AccessLog::~AccessLog() {
  if (logger_ && poolSlot()) logger_->flush();
}

void AccessLog::write(const AccessRecord& rec) {
  if (!logger_) return;
  std::string line = format_ == AccessLogFormat::kJson ? formatJson(rec) : formatCombined(rec);
  logger_->info(std::string_view(line));
}

void AccessLog::reopen() {
  if (reopener_) std::static_pointer_cast<ReopenableFileSink>(reopener_)->reopen();
}

void AccessLog::flush() {
  if (logger_ && poolSlot()) logger_->flush();
}

uint64_t AccessLog::dropped() const {
  auto& pool = poolSlot();
  return pool ? pool->overrun_counter() : 0;
}

void AccessLog::shutdown() {
  // Destroying the pool queues a stop after the lines still waiting and joins the writer
  // thread, so every line is written before the loggers and their sinks go away.
  poolSlot().reset();
}

std::string AccessLog::formatJson(const AccessRecord& rec) {
  std::string out;
  out.reserve(384);
  out += "{\"time\":\"";
  out += isoTime(rec.time);
  out += '"';
  appendField(out, "client", rec.client);
  appendField(out, "scheme", rec.scheme);
  appendField(out, "host", rec.host);
  out += ",\"listener_port\":";
  out += std::to_string(rec.listener_port);
  appendField(out, "method", rec.method);
  appendField(out, "target", rec.target);
  appendField(out, "protocol", rec.protocol);
  out += ",\"status\":";
  out += std::to_string(rec.status);
  appendField(out, "rule", rec.rule);
  if (!rec.location.empty()) appendField(out, "location", rec.location);
  if (!rec.pool.empty()) appendField(out, "pool", rec.pool);
  if (!rec.upstream.empty()) appendField(out, "upstream", rec.upstream);
  out += ",\"bytes_in\":";
  out += std::to_string(rec.bytes_in);
  out += ",\"bytes_out\":";
  out += std::to_string(rec.bytes_out);
  char dur[32];
  snprintf(dur, sizeof dur, "%.3f", rec.duration_ms);
  out += ",\"duration_ms\":";
  out += dur;
  appendField(out, "request_id", rec.request_id);
  appendField(out, "user_agent", rec.user_agent);
  appendField(out, "referer", rec.referer);
  out += '}';
  return out;
}

// Apache/nginx combined format, then detour's fields in a fixed order:
//   CLIENT - - [TIME] "METHOD TARGET PROTOCOL" STATUS BYTES_OUT "REFERER" "USER_AGENT"
//   "HOST" SCHEME RULE REQUEST_ID DURATION_MS BYTES_IN LISTENER_PORT
// (new fields go last, so that readers of the older lines keep working).
std::string AccessLog::formatCombined(const AccessRecord& rec) {
  std::string out;
  out.reserve(320);
  out += rec.client.empty() ? std::string_view("-") : rec.client;
  time_t secs = std::chrono::system_clock::to_time_t(rec.time);
  struct tm tm_utc;
  gmtime_r(&secs, &tm_utc);
  char tbuf[40];
  strftime(tbuf, sizeof tbuf, " - - [%d/%b/%Y:%H:%M:%S +0000] ", &tm_utc);
  out += tbuf;
  std::string request;
  request.append(rec.method).append(" ").append(rec.target).append(" ").append(rec.protocol);
  appendQuoted(out, request);
  out += ' ';
  out += std::to_string(rec.status);
  out += ' ';
  out += std::to_string(rec.bytes_out);
  out += ' ';
  appendQuoted(out, rec.referer);
  out += ' ';
  appendQuoted(out, rec.user_agent);
  out += ' ';
  appendQuoted(out, rec.host);
  out += ' ';
  out += rec.scheme.empty() ? std::string_view("-") : rec.scheme;
  out += ' ';
  out += rec.rule.empty() ? std::string_view("-") : rec.rule;
  out += ' ';
  out += rec.request_id.empty() ? std::string_view("-") : rec.request_id;
  char dur[32];
  snprintf(dur, sizeof dur, " %.3f ", rec.duration_ms);
  out += dur;
  out += std::to_string(rec.bytes_in);
  out += ' ';
  out += std::to_string(rec.listener_port);
  return out;
}

}  // namespace detour
