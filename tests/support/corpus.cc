#include "support/corpus.h"

#include <fstream>

namespace detour::test {

std::string base64Decode(const std::string& in) {
  static const std::string kChars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    size_t pos = kChars.find(c);
    if (pos == std::string::npos) continue;  // '=' and anything else
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

std::optional<std::string> jsonString(const std::string& line, const std::string& key) {
  std::string needle = "\"" + key + "\": \"";
  size_t at = line.find(needle);
  if (at == std::string::npos) return std::nullopt;
  at += needle.size();
  std::string out;
  for (size_t i = at; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size()) {
      out += line[++i];
      continue;
    }
    if (line[i] == '"') return out;
    out += line[i];
  }
  return std::nullopt;
}

std::optional<long> jsonInt(const std::string& line, const std::string& key) {
  std::string needle = "\"" + key + "\": ";
  size_t at = line.find(needle);
  if (at == std::string::npos) return std::nullopt;
  at += needle.size();
  size_t end = at;
  while (end < line.size() && (isdigit(static_cast<unsigned char>(line[end])) || line[end] == '-'))
    ++end;
  if (end == at) return std::nullopt;
  return std::stol(line.substr(at, end - at));
}

std::vector<CorpusCase> loadCorpus(const std::string& path) {
  std::vector<CorpusCase> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    CorpusCase c;
    c.line = line;
    c.id = jsonString(line, "id").value_or("?");
    c.raw = base64Decode(jsonString(line, "raw_b64").value_or(""));
    c.outcome = jsonString(line, "outcome").value_or("");
    c.forwarded_max = static_cast<int>(jsonInt(line, "forwarded_max").value_or(-1));
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace detour::test
