#include "logging/access_log.h"

#include <charconv>
#include <cstdio>
#include <ctime>

#include "common/string_util.h"
#include "logging/access_log_writer.h"
#include "logging/access_sink.h"
#include "logging/logging.h"

namespace detour {
namespace {

void appendField(std::string& out, const char* name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":\"";
  appendJsonEscaped(out, value);
  out += '"';
}

template <typename Int>
void appendNumber(std::string& out, Int v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void appendIsoTime(std::string& out, std::chrono::system_clock::time_point tp) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm_utc;
  gmtime_r(&secs, &tm_utc);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm_utc);
  n += static_cast<size_t>(snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000)));
  out.append(buf, n);
}

// Combined-format fields are quoted; escape what would break the quoting.
void appendQuotable(std::string& out, std::string_view v) {
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
}

void appendQuoted(std::string& out, std::string_view v) {
  out += '"';
  if (v.empty()) out += '-';
  appendQuotable(out, v);
  out += '"';
}

void appendOrDash(std::string& out, std::string_view v) {
  out += v.empty() ? std::string_view("-") : v;
}

}  // namespace

std::shared_ptr<AccessLog> AccessLog::create(const LogConfig& cfg) {
  std::shared_ptr<AccessLog> out(new AccessLog());
  if (!cfg.access_enabled) return out;
  out->sink_ = AccessLogWriter::instance().add(
      std::make_unique<AccessSink>(cfg.access_path, cfg.access_format));
  return out;
}

AccessLog::~AccessLog() {
  if (sink_ != nullptr) AccessLogWriter::instance().retire(sink_);
}

void AccessLog::write(const AccessRecord& rec) {
  if (sink_ != nullptr) AccessLogWriter::instance().push(rec, sink_);
}

void AccessLog::reopen() {
  if (!AccessLogWriter::instance().sync(true, std::chrono::seconds(1))) {
    log().warn("access log: the writer did not reopen the files within 1 s (blocked output?)");
  }
}

void AccessLog::flush() { AccessLogWriter::instance().sync(false, std::chrono::seconds(1)); }

uint64_t AccessLog::dropped() const { return AccessLogWriter::instance().dropped(); }

void AccessLog::shutdown() { AccessLogWriter::instance().stop(); }

std::string AccessLog::formatJson(const AccessRecord& rec) {
  std::string out;
  appendJson(out, rec);
  return out;
}

std::string AccessLog::formatCombined(const AccessRecord& rec) {
  std::string out;
  appendCombined(out, rec);
  return out;
}

void AccessLog::appendJson(std::string& out, const AccessRecord& rec) {
  out += "{\"time\":\"";
  appendIsoTime(out, rec.time);
  out += '"';
  appendField(out, "client", rec.client);
  appendField(out, "scheme", rec.scheme);
  appendField(out, "host", rec.host);
  out += ",\"listener_port\":";
  appendNumber(out, rec.listener_port);
  appendField(out, "method", rec.method);
  appendField(out, "target", rec.target);
  appendField(out, "protocol", rec.protocol);
  out += ",\"status\":";
  appendNumber(out, rec.status);
  appendField(out, "rule", rec.rule);
  if (!rec.location.empty()) appendField(out, "location", rec.location);
  if (!rec.pool.empty()) appendField(out, "pool", rec.pool);
  if (!rec.upstream.empty()) appendField(out, "upstream", rec.upstream);
  out += ",\"bytes_in\":";
  appendNumber(out, rec.bytes_in);
  out += ",\"bytes_out\":";
  appendNumber(out, rec.bytes_out);
  char dur[32];
  snprintf(dur, sizeof dur, "%.3f", rec.duration_ms);
  out += ",\"duration_ms\":";
  out += dur;
  appendField(out, "request_id", rec.request_id);
  appendField(out, "user_agent", rec.user_agent);
  appendField(out, "referer", rec.referer);
  out += '}';
}

// Apache/nginx combined format, then detour's fields in a fixed order:
//   CLIENT - - [TIME] "METHOD TARGET PROTOCOL" STATUS BYTES_OUT "REFERER" "USER_AGENT"
//   "HOST" SCHEME RULE REQUEST_ID DURATION_MS BYTES_IN LISTENER_PORT
// (new fields go last, so that readers of the older lines keep working).
void AccessLog::appendCombined(std::string& out, const AccessRecord& rec) {
  appendOrDash(out, rec.client);
  time_t secs = std::chrono::system_clock::to_time_t(rec.time);
  struct tm tm_utc;
  gmtime_r(&secs, &tm_utc);
  char tbuf[40];
  out.append(tbuf, strftime(tbuf, sizeof tbuf, " - - [%d/%b/%Y:%H:%M:%S +0000] ", &tm_utc));
  out += '"';  // the request line is never empty: it has its two spaces
  appendQuotable(out, rec.method);
  out += ' ';
  appendQuotable(out, rec.target);
  out += ' ';
  appendQuotable(out, rec.protocol);
  out += "\" ";
  appendNumber(out, rec.status);
  out += ' ';
  appendNumber(out, rec.bytes_out);
  out += ' ';
  appendQuoted(out, rec.referer);
  out += ' ';
  appendQuoted(out, rec.user_agent);
  out += ' ';
  appendQuoted(out, rec.host);
  out += ' ';
  appendOrDash(out, rec.scheme);
  out += ' ';
  appendOrDash(out, rec.rule);
  out += ' ';
  appendOrDash(out, rec.request_id);
  char dur[32];
  snprintf(dur, sizeof dur, " %.3f ", rec.duration_ms);
  out += dur;
  appendNumber(out, rec.bytes_in);
  out += ' ';
  appendNumber(out, rec.listener_port);
}

}  // namespace detour
