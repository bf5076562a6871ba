#include "proxy/local_response.h"

#include <ctime>

#include "http/codes.h"

namespace detour {
namespace {

void appendStatusLine(std::string& out, int status) {
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += statusReason(status);
  out += "\r\n";
}

void appendTail(std::string& out, std::string_view body, const ResponseOptions& opts) {
  out += "Content-Length: ";
  out += std::to_string(body.size());
  out += "\r\n";
  out += opts.date_line;
  out += opts.extra_lines;
  if (opts.close) {
    out += "Connection: close\r\n";
  } else if (opts.keep_alive_10) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  if (!opts.head_request) out += body;
}

}  // namespace

void appendRedirectResponse(std::string& out, const CompiledRedirect& redirect,
                            std::string_view location, const ResponseOptions& opts) {
  appendStatusLine(out, redirect.code);
  out += "Location: ";
  out += location;
  out += "\r\n";
  out += redirect.extra_headers;
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  std::string body = "Redirecting to ";
  body += location;
  body += '\n';
  appendTail(out, body, opts);
}

void appendFixedResponse(std::string& out, const CompiledRespond& respond,
                         const ResponseOptions& opts) {
  appendStatusLine(out, respond.status);
  out += respond.extra_headers;
  appendTail(out, respond.body, opts);
}

void appendStatusResponse(std::string& out, int status, std::string_view extra_headers,
                          const ResponseOptions& opts) {
  appendStatusLine(out, status);
  out += extra_headers;
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  std::string body = std::to_string(status);
  body += ' ';
  body += statusReason(status);
  body += '\n';
  appendTail(out, body, opts);
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
