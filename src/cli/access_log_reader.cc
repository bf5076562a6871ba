#include "cli/access_log_reader.h"

#include <cstdint>
#include <map>

#include "common/string_util.h"

namespace detour {
namespace {

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Reads a JSON string starting at s[i] == '"'; advances i past it.
std::optional<std::string> readJsonString(std::string_view s, size_t& i) {
  if (i >= s.size() || s[i] != '"') return std::nullopt;
  std::string out;
  for (++i; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      ++i;
      return out;
    }
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= s.size()) return std::nullopt;
    switch (s[i]) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        if (i + 4 >= s.size()) return std::nullopt;
        uint32_t cp = 0;
        for (int k = 1; k <= 4; ++k) {
          char h = s[i + k];
          cp <<= 4;
          if (h >= '0' && h <= '9') cp |= static_cast<uint32_t>(h - '0');
          else if (h >= 'a' && h <= 'f') cp |= static_cast<uint32_t>(h - 'a' + 10);
          else if (h >= 'A' && h <= 'F') cp |= static_cast<uint32_t>(h - 'A' + 10);
          else return std::nullopt;
        }
        i += 4;
        // detour writes \u00XX for bytes it cannot pass as UTF-8: give the byte back.
        if (cp < 0x100) {
          out += static_cast<char>(cp);
        } else {
          appendUtf8(out, cp);
        }
        break;
      }
      default: out += s[i]; break;
    }
  }
  return std::nullopt;
}

// A flat JSON object of string and scalar values.
std::optional<std::map<std::string, std::string>> readFlatJson(std::string_view s) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  auto skipWs = [&] { while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i; };
  skipWs();
  if (i >= s.size() || s[i] != '{') return std::nullopt;
  ++i;
  while (true) {
    skipWs();
    if (i < s.size() && s[i] == '}') return out;
    auto key = readJsonString(s, i);
    if (!key) return std::nullopt;
    skipWs();
    if (i >= s.size() || s[i] != ':') return std::nullopt;
    ++i;
    skipWs();
    std::string value;
    if (i < s.size() && s[i] == '"') {
      auto v = readJsonString(s, i);
      if (!v) return std::nullopt;
      value = *v;
    } else {
      size_t end = s.find_first_of(",}", i);
      if (end == std::string_view::npos) return std::nullopt;
      value = std::string(trimOws(s.substr(i, end - i)));
      i = end;
    }
    out[*key] = value;
    skipWs();
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    if (i < s.size() && s[i] == '}') return out;
    return std::nullopt;
  }
}

// A quoted field of the combined format; \xHH escapes are decoded. Advances i.
std::optional<std::string> readQuoted(std::string_view s, size_t& i) {
  while (i < s.size() && s[i] == ' ') ++i;
  if (i >= s.size() || s[i] != '"') return std::nullopt;
  std::string out;
  for (++i; i < s.size(); ++i) {
    if (s[i] == '"') {
      ++i;
      return out == "-" ? std::string() : out;
    }
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 2, 2)), nullptr, 16));
      i += 3;
      continue;
    }
    out += s[i];
  }
  return std::nullopt;
}

std::string readWord(std::string_view s, size_t& i) {
  while (i < s.size() && s[i] == ' ') ++i;
  size_t start = i;
  while (i < s.size() && s[i] != ' ') ++i;
  return std::string(s.substr(start, i - start));
}

std::optional<LoggedRequest> parseJsonLine(std::string_view line) {
  auto fields = readFlatJson(line);
  if (!fields) return std::nullopt;
  LoggedRequest r;
  r.method = (*fields)["method"];
  r.target = (*fields)["target"];
  if (r.method.empty() || r.target.empty()) return std::nullopt;
  r.scheme = (*fields)["scheme"] == "https" ? Scheme::kHttps : Scheme::kHttp;
  r.host = (*fields)["host"];
  r.listener_port = (*fields)["listener_port"];
  if (r.listener_port == "0") r.listener_port.clear();
  r.user_agent = (*fields)["user_agent"];
  r.referer = (*fields)["referer"];
  return r;
}

// CLIENT - - [TIME] "METHOD TARGET PROTOCOL" STATUS BYTES "REFERER" "UA" "HOST" SCHEME RULE ...
std::optional<LoggedRequest> parseCombinedLine(std::string_view line) {
  size_t i = line.find("] \"");
  if (i == std::string_view::npos) return std::nullopt;
  i += 2;
  auto request = readQuoted(line, i);
  if (!request) return std::nullopt;
  readWord(line, i);  // status
  readWord(line, i);  // bytes out
  LoggedRequest r;
  auto referer = readQuoted(line, i);
  auto ua = readQuoted(line, i);
  auto host = readQuoted(line, i);
  if (!referer || !ua || !host) return std::nullopt;
  r.referer = *referer;
  r.user_agent = *ua;
  r.host = *host;
  r.scheme = readWord(line, i) == "https" ? Scheme::kHttps : Scheme::kHttp;
  for (int field = 0; field < 4; ++field) readWord(line, i);  // rule, id, duration, bytes in
  r.listener_port = readWord(line, i);  // absent in lines older than the field
  if (r.listener_port == "0") r.listener_port.clear();
  size_t sp1 = request->find(' ');
  size_t sp2 = request->rfind(' ');
  if (sp1 == std::string::npos || sp2 <= sp1) return std::nullopt;
  r.method = request->substr(0, sp1);
  r.target = request->substr(sp1 + 1, sp2 - sp1 - 1);
  return r;
}

}  // namespace

std::string LoggedRequest::key() const {
  return method + " " + (scheme == Scheme::kHttps ? "https" : "http") + " " + host + " " + target +
         " " + listener_port;
}

std::optional<LoggedRequest> parseAccessLogLine(std::string_view line) {
  line = trimOws(line);
  if (line.empty()) return std::nullopt;
  if (line.front() == '{') return parseJsonLine(line);
  return parseCombinedLine(line);
}

}  // namespace detour
