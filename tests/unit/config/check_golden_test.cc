// Golden tests for `detour check`'s path: load -> compile -> lint (checkConfigFile, which the
// command calls), with the exact FILE:LINE:COL of every finding.
//
//   tests/data/config/check/NAME.yaml     is checked as it is and with --strict; the findings
//                                         plus a last line "result: ok" or "result: invalid"
//                                         must equal NAME.expected and NAME.strict.expected.
//
// The expired-window lint compares with a fixed time, kNow (2030-06-01T00:00:00Z); the cases
// use windows long past or far ahead, so that `detour check`, which compares with the current
// time, prints the same (Cli.CheckPrintsTheCheckGoldens runs the binary on them). To add a
// case, write NAME.yaml and run once with DETOUR_UPDATE_GOLDEN=1, then review the files.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/config_check.h"

namespace detour {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNow = 1906502400000;  // 2030-06-01T00:00:00Z

fs::path dataDir() { return fs::path(DETOUR_SOURCE_DIR) / "tests" / "data" / "config" / "check"; }

std::vector<std::string> cases() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dataDir(), ec)) {
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The findings as `detour check` prints them, with the folder taken off the file names, and
// the verdict.
std::string checkText(const std::string& name, bool strict) {
  std::string dir = dataDir().string() + "/";
  CheckOutcome outcome = checkConfigFile(dir + name + ".yaml", strict, kNow);
  std::string text = outcome.diagnostics.formatAll();
  for (size_t at = text.find(dir); at != std::string::npos; at = text.find(dir, at)) {
    text.erase(at, dir.size());
  }
  return text + (outcome.snapshot ? "result: ok\n" : "result: invalid\n");
}

void compareWithGolden(const std::string& actual, const fs::path& expected_path) {
  const char* update = std::getenv("DETOUR_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(expected_path, std::ios::binary) << actual;
  }
  ASSERT_TRUE(fs::exists(expected_path))
      << "missing " << expected_path << "; run with DETOUR_UPDATE_GOLDEN=1 to create it";
  EXPECT_EQ(readFile(expected_path), actual) << "for " << expected_path.filename();
}

std::string testName(const testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) c = '_';
  }
  return name;
}

class CheckGolden : public testing::TestWithParam<std::string> {};

TEST_P(CheckGolden, FindingsMatchExpected) {
  compareWithGolden(checkText(GetParam(), false), dataDir() / (GetParam() + ".expected"));
}

TEST_P(CheckGolden, StrictFindingsMatchExpected) {
  compareWithGolden(checkText(GetParam(), true), dataDir() / (GetParam() + ".strict.expected"));
}

INSTANTIATE_TEST_SUITE_P(Files, CheckGolden, testing::ValuesIn(cases()), testName);

TEST(CheckGoldenData, HasTheCasesAndNoStaleExpectations) {
  EXPECT_GE(cases().size(), 5u);
  for (const auto& entry : fs::directory_iterator(dataDir())) {
    std::string file = entry.path().filename().string();
    if (entry.path().extension() != ".expected") continue;
    std::string stem = file.substr(0, file.find('.'));
    EXPECT_TRUE(fs::exists(dataDir() / (stem + ".yaml"))) << file << " has no .yaml";
  }
}

}  // namespace
}  // namespace detour
