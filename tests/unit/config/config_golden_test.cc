// Golden tests for the config loader.
//
//   tests/data/config/invalid/NAME.yaml  is loaded with loadConfigString(text, "NAME.yaml", dir)
//                                        and its diagnostics must equal NAME.expected exactly;
//   tests/data/config/valid/NAME.yaml    is loaded with loadConfigFile() and must produce no
//                                        diagnostic at all.
//
// To add a case, write NAME.yaml and run the tests once with DETOUR_UPDATE_GOLDEN=1: the
// .expected files are (re)written from the loader's output. Review them before committing.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/config_loader.h"

namespace detour {
namespace {

namespace fs = std::filesystem;

// flag_env_warning.yaml names this variable; the value is neither true nor false.
constexpr char kFlagEnvName[] = "DETOUR_GOLDEN_FLAG_ENV";
constexpr char kFlagEnvValue[] = "yes";

fs::path dataDir(const char* kind) {
  return fs::path(DETOUR_SOURCE_DIR) / "tests" / "data" / "config" / kind;
}

std::vector<std::string> yamlFiles(const char* kind) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dataDir(kind), ec)) {
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

std::string testName(const testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) c = '_';
  }
  return name;
}

class InvalidConfigGolden : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { ::setenv(kFlagEnvName, kFlagEnvValue, 1); }
  void TearDown() override { ::unsetenv(kFlagEnvName); }
};

TEST_P(InvalidConfigGolden, DiagnosticsMatchExpected) {
  const fs::path dir = dataDir("invalid");
  const std::string name = GetParam();
  const std::string yaml = readFile(dir / (name + ".yaml"));
  LoadResult result = loadConfigString(yaml, name + ".yaml", dir.string());
  const std::string actual = result.diagnostics.formatAll();
  const fs::path expected_path = dir / (name + ".expected");
  const char* update = std::getenv("DETOUR_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(expected_path, std::ios::binary) << actual;
  }
  ASSERT_TRUE(fs::exists(expected_path))
      << "missing " << expected_path << "; run with DETOUR_UPDATE_GOLDEN=1 to create it";
  EXPECT_EQ(readFile(expected_path), actual) << "for " << name << ".yaml";
  EXPECT_FALSE(actual.empty()) << "an invalid case must produce at least one diagnostic";
  EXPECT_EQ(result.config.has_value(), !result.diagnostics.hasErrors());
}

INSTANTIATE_TEST_SUITE_P(Files, InvalidConfigGolden, testing::ValuesIn(yamlFiles("invalid")),
                         testName);

class ValidConfigGolden : public testing::TestWithParam<std::string> {};

TEST_P(ValidConfigGolden, LoadsWithoutDiagnostics) {
  const fs::path path = dataDir("valid") / (GetParam() + ".yaml");
  LoadResult result = loadConfigFile(path.string());
  EXPECT_EQ(result.diagnostics.formatAll(), "");
  EXPECT_TRUE(result.config.has_value());
}

INSTANTIATE_TEST_SUITE_P(Files, ValidConfigGolden, testing::ValuesIn(yamlFiles("valid")), testName);

TEST(ConfigGoldenData, HasEnoughCases) {
  EXPECT_GE(yamlFiles("invalid").size(), 30u);
  EXPECT_GE(yamlFiles("valid").size(), 3u);
  // Every .expected file has its .yaml (a renamed case must not leave a stale expectation).
  for (const auto& entry : fs::directory_iterator(dataDir("invalid"))) {
    if (entry.path().extension() != ".expected") continue;
    fs::path yaml = entry.path();
    yaml.replace_extension(".yaml");
    EXPECT_TRUE(fs::exists(yaml)) << entry.path() << " has no .yaml";
  }
}

}  // namespace
}  // namespace detour
