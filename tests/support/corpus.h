#pragma once

// Reads the shared black-box corpus (../shared/corpus/*.jsonl): one JSON object a line. Only the
// few fields the tests need are extracted, with a minimal scanner (the values are plain).

#include <optional>
#include <string>
#include <vector>

namespace detour::test {

struct CorpusCase {
  std::string id;
  std::string raw;      // decoded raw_b64 (empty for step cases)
  std::string outcome;  // expect.outcome
  int forwarded_max = -1;
  std::string line;     // the whole JSON line, for ad-hoc lookups
};

std::string base64Decode(const std::string& in);
// First string value of "key" in a JSON line, or nullopt.
std::optional<std::string> jsonString(const std::string& line, const std::string& key);
// First integer value of "key", or nullopt.
std::optional<long> jsonInt(const std::string& line, const std::string& key);
// Loads a corpus file; path relative to the repository root's parent (../shared/corpus).
std::vector<CorpusCase> loadCorpus(const std::string& path);

}  // namespace detour::test
