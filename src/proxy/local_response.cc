#include "proxy/local_response.h"

#include <ctime>

#include "http/codes.h"

namespace detour {
namespace {

// Appends `n` in decimal; no temporary string (this runs for every local answer).
void appendDecimal(std::string& out, size_t n) {
  char digits[20];
  size_t i = sizeof digits;
  do {
    digits[--i] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.append(digits + i, sizeof digits - i);
}

size_t decimalLength(size_t n) {
  size_t len = 1;
  while (n >= 10) {
    n /= 10;
    ++len;
  }
  return len;
}

void appendStatusLine(std::string& out, int status) {
  out += "HTTP/1.1 ";
  appendDecimal(out, static_cast<size_t>(status));
  out += ' ';
  out += statusReason(status);
  out += "\r\n";
}

// Content-Length, Date, the extra lines, Connection and the blank line; the body follows.
void appendTailHead(std::string& out, size_t body_size, const ResponseOptions& opts) {
  out += "Content-Length: ";
  appendDecimal(out, body_size);
  out += "\r\n";
  out += opts.date_line;
  out += opts.extra_lines;
  if (opts.close) {
    out += "Connection: close\r\n";
  } else if (opts.keep_alive_10) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
}

constexpr std::string_view kTextPlain = "Content-Type: text/plain; charset=utf-8\r\n";

}  // namespace

void appendRedirectResponse(std::string& out, const CompiledRedirect& redirect,
                            std::string_view location, const ResponseOptions& opts) {
  constexpr std::string_view kBodyStart = "Redirecting to ";
  appendStatusLine(out, redirect.code);
  out += "Location: ";
  out += location;
  out += "\r\n";
  out += redirect.extra_headers;
  out += kTextPlain;
  appendTailHead(out, kBodyStart.size() + location.size() + 1, opts);
  if (opts.head_request) return;
  out += kBodyStart;
  out += location;
  out += '\n';
}

void appendFixedResponse(std::string& out, const CompiledRespond& respond,
                         const ResponseOptions& opts) {
  appendStatusLine(out, respond.status);
  out += respond.extra_headers;
  appendTailHead(out, respond.body.size(), opts);
  if (!opts.head_request) out += respond.body;
}

void appendStatusResponse(std::string& out, int status, std::string_view extra_headers,
                          const ResponseOptions& opts) {
  std::string_view reason = statusReason(status);
  appendStatusLine(out, status);
  out += extra_headers;
  out += kTextPlain;
  // "404 Not Found\n"
  appendTailHead(out, decimalLength(static_cast<size_t>(status)) + 1 + reason.size() + 1, opts);
  if (opts.head_request) return;
  appendDecimal(out, static_cast<size_t>(status));
  out += ' ';
  out += reason;
  out += '\n';
}

std::string formatDateLine(long long unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm_utc;
  gmtime_r(&t, &tm_utc);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm_utc);
  return std::string(buf, n);
}

}  // namespace detour
