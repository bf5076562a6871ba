#include "config/config_syntax.h"

#include <cstdint>
#include <limits>
#include <optional>

#include "common/string_util.h"
#include "config/config_loader.h"

namespace detour {

namespace {

constexpr size_t kMaxQuoted = 40;

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// RFC 9110 section 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
// "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
bool isTchar(char c) {
  static constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return isDigit(c) || isAlpha(c) || kSymbols.find(c) != std::string_view::npos;
}

bool isSpaceOrControl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f;
}

std::string quoteChar(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u == 0x7f) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 0xf];
  }
  if (c == ' ') return "a space";
  return std::string("'") + c + "'";
}

// The reason `name` is not a host name of [a-z0-9-] labels; empty when it is one.
std::string hostNameProblem(std::string_view name) {
  if (name.empty()) return "it is empty";
  if (name.size() > 253) return "it is longer than 253 characters";
  if (name.back() == '.') return "it ends with a dot: remove the dot";
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return "it has an empty label (two dots in a row, or a leading dot)";
      label = 0;
      continue;
    }
    if (c == ':') return "a host pattern has no port (the port is ignored when matching)";
    if (c == '*') return "'*' is only allowed as the whole first label, as in *.example.com";
    if (!isDigit(c) && !(c >= 'a' && c <= 'z') && c != '-') {
      return "it contains " + quoteChar(c) + "; use letters, digits, '-' and '.'";
    }
    if (++label > 63) return "a label is longer than 63 characters";
  }
  return "";
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

unsigned daysInMonth(int year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// `len` decimal digits at text[pos]; nullopt when out of bounds or not all digits.
std::optional<int> fixedDigits(std::string_view text, size_t pos, size_t len) {
  if (pos + len > text.size()) return std::nullopt;
  int v = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (!isDigit(text[i])) return std::nullopt;
    v = v * 10 + (text[i] - '0');
  }
  return v;
}

bool charAt(std::string_view text, size_t pos, char a, char b = '\0') {
  return pos < text.size() && (text[pos] == a || (b != '\0' && text[pos] == b));
}

struct DateTime {
  int year, month, day, hour, minute, second;
};

// "YYYY-MM-DDTHH:MM:SS" (T or t) at the start of text, with every field in range.
std::optional<DateTime> parseDateTime(std::string_view text) {
  auto y = fixedDigits(text, 0, 4), mo = fixedDigits(text, 5, 2), d = fixedDigits(text, 8, 2);
  auto h = fixedDigits(text, 11, 2), mi = fixedDigits(text, 14, 2), s = fixedDigits(text, 17, 2);
  if (!y || !mo || !d || !h || !mi || !s) return std::nullopt;
  if (!charAt(text, 4, '-') || !charAt(text, 7, '-') || !charAt(text, 10, 'T', 't') ||
      !charAt(text, 13, ':') || !charAt(text, 16, ':')) {
    return std::nullopt;
  }
  if (*mo < 1 || *mo > 12 || *d < 1 || static_cast<unsigned>(*d) > daysInMonth(*y, *mo)) {
    return std::nullopt;
  }
  if (*h > 23 || *mi > 59 || *s > 59) return std::nullopt;  // no leap seconds
  return DateTime{*y, *mo, *d, *h, *mi, *s};
}

// The fraction ".ddd..." at text[*pos] as milliseconds (truncated); advances *pos.
std::optional<int> parseFraction(std::string_view text, size_t* pos) {
  if (!charAt(text, *pos, '.')) return 0;
  size_t start = ++*pos;
  int millis = 0;
  while (*pos < text.size() && isDigit(text[*pos])) {
    if (*pos - start < 3) millis = millis * 10 + (text[*pos] - '0');
    ++*pos;
  }
  size_t n = *pos - start;
  if (n == 0) return std::nullopt;
  for (size_t i = n; i < 3; ++i) millis *= 10;
  return millis;
}

// "Z", "z" or "+hh:mm"/"-hh:mm" filling the rest of text, as an offset in minutes.
std::optional<int> parseOffset(std::string_view rest) {
  if (rest == "Z" || rest == "z") return 0;
  if (rest.size() != 6 || (rest[0] != '+' && rest[0] != '-') || rest[3] != ':') {
    return std::nullopt;
  }
  auto h = fixedDigits(rest, 1, 2), m = fixedDigits(rest, 4, 2);
  if (!h || !m || *h > 23 || *m > 59) return std::nullopt;
  int minutes = *h * 60 + *m;
  return rest[0] == '-' ? -minutes : minutes;
}

}  // namespace

std::string quoteText(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == kMaxQuoted) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(text[i]);
    if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += text[i];
    }
  }
  return out + "'";
}

bool isHttpToken(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!isTchar(c)) return false;
  }
  return true;
}

bool isEnvVarName(std::string_view text) {
  if (text.empty() || isDigit(text.front())) return false;
  for (char c : text) {
    if (!isAlpha(c) && !isDigit(c) && c != '_') return false;
  }
  return true;
}

bool isConfigName(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!isAlpha(c) && !isDigit(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

bool hasCrLfNul(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

std::string pathProblem(std::string_view what, std::string_view path) {
  std::string head = std::string(what) + " must ";
  std::string got = " (got " + quoteText(path) + ")";
  if (path.empty() || path.front() != '/') return head + "start with '/'" + got;
  for (char c : path) {
    if (c == '?') return head + "not contain '?'" + got + ": the query is not part of the path";
    if (c == '#') return head + "not contain '#'" + got + ": fragments never reach servers";
    if (isSpaceOrControl(c))
      return head + "not contain " + quoteChar(c) + got + ": percent-encode it";
  }
  return "";
}

std::string hostPatternProblem(std::string_view host) {
  if (startsWith(host, "*.")) return hostNameProblem(host.substr(2));
  if (host == "*") return "'*' alone is not a pattern: leave 'host' out to match any host";
  return hostNameProblem(host);
}

std::string redirectTargetProblem(std::string_view to) {
  if (to.empty()) return "'to' must not be empty";
  std::string got = " (got " + quoteText(to) + ")";
  if (!startsWith(to, "/") && !startsWith(to, "http://") && !startsWith(to, "https://") &&
      !startsWith(to, "{")) {
    return "'to' must start with '/', 'http://', 'https://' or a template variable such as "
           "{scheme}" +
           got;
  }
  for (char c : to) {
    if (isSpaceOrControl(c))
      return "'to' must not contain " + quoteChar(c) + got + ": percent-encode it";
  }
  return "";
}

std::string rfc3339Problem(std::string_view text) {
  if (parseRfc3339(text)) return "";
  std::string with_z = std::string(text) + "Z";
  if (parseRfc3339(with_z)) return "add Z (UTC) or an offset like +01:00";
  if (parseRfc3339(with_z.substr(0, text.size()) + "T00:00:00Z")) {
    return "add a time and an offset, as in " + std::string(text) + "T00:00:00Z";
  }
  auto y = fixedDigits(text, 0, 4), mo = fixedDigits(text, 5, 2), d = fixedDigits(text, 8, 2);
  if (!y || !mo || !d) return "";
  if (*mo < 1 || *mo > 12) return "the month must be 01 to 12";
  unsigned days = daysInMonth(*y, *mo);
  if (*d < 1 || static_cast<unsigned>(*d) > days) {
    return "day " + std::to_string(*d) + " does not exist: " + std::string(text.substr(0, 7)) +
           " has " + std::to_string(days) + " days";
  }
  auto h = fixedDigits(text, 11, 2), mi = fixedDigits(text, 14, 2), sec = fixedDigits(text, 17, 2);
  if (h && mi && sec && (*h > 23 || *mi > 59 || *sec > 59)) {
    return "the time must be 00:00:00 to 23:59:59 (there are no leap seconds)";
  }
  return "";
}

std::optional<Duration> parseDuration(std::string_view text) {
  if (text == "0") return Duration{0};
  size_t digits = 0;
  while (digits < text.size() && isDigit(text[digits])) ++digits;
  if (digits == 0) return std::nullopt;
  std::string_view unit = text.substr(digits);
  int64_t factor = 0;
  if (unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60 * 1000;
  else if (unit == "h")
    factor = 60 * 60 * 1000;
  else
    return std::nullopt;
  auto value = parseDecimal(text.substr(0, digits));
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (!value || *value > kMax / static_cast<uint64_t>(factor)) return std::nullopt;
  return Duration{static_cast<int64_t>(*value) * factor};
}

std::optional<EpochMillis> parseRfc3339(std::string_view text) {
  auto dt = parseDateTime(text);
  if (!dt) return std::nullopt;
  size_t pos = 19;
  auto millis = parseFraction(text, &pos);
  if (!millis) return std::nullopt;
  auto offset = parseOffset(text.substr(pos));
  if (!offset) return std::nullopt;
  int64_t days =
      daysFromCivil(dt->year, static_cast<unsigned>(dt->month), static_cast<unsigned>(dt->day));
  int64_t seconds = days * 86400 + dt->hour * 3600 + dt->minute * 60 + dt->second;
  seconds -= static_cast<int64_t>(*offset) * 60;
  return seconds * 1000 + *millis;
}

}  // namespace detour
