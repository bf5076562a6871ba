// ConfigMap and the typed readers on their own, from YAML text.

#include "config/config_node.h"

#include <gtest/gtest.h>

#include <limits>

namespace detour {
namespace {

class ConfigNodeTest : public testing::Test {
 protected:
  ConfigValue value(const std::string& yaml) {
    YAML::Node node = YAML::Load(yaml);
    return {node, "v", "'v'", nodePos(node), nodePos(node)};
  }
  std::string text() const { return diags_.formatAll(); }

  Diagnostics diags_;
  ConfigReporter r_{"f.yaml", ".", diags_};
};

TEST_F(ConfigNodeTest, NodePosIsOneBased) {
  YAML::Node node = YAML::Load("a:\n  b: 1\n");
  Pos pos = nodePos(node["a"]["b"]);
  EXPECT_EQ(pos.line, 2);
  EXPECT_EQ(pos.col, 6);
  Pos none = nodePos(YAML::Node());
  EXPECT_EQ(none.line, 1);
  EXPECT_EQ(none.col, 1);
}

TEST_F(ConfigNodeTest, MapReportsUnknownDuplicateAndMissingKeys) {
  ConfigMap map(r_, value("{to: /a, code: 301, cod: 1, to: /b}"), "redirect",
                {"to", "code", "keep_query"});
  EXPECT_TRUE(map.isMap());
  ASSERT_TRUE(map.get("to"));
  EXPECT_EQ(map.get("to")->node.Scalar(), "/a");  // the first occurrence wins
  EXPECT_FALSE(map.get("cod"));
  EXPECT_FALSE(map.require("keep_query"));
  EXPECT_TRUE(map.suggested("code"));
  EXPECT_EQ(text(),
            "f.yaml:1:21: error: unknown key 'cod' in redirect; did you mean 'code'?\n"
            "f.yaml:1:29: error: duplicate key 'to' (first at line 1): keep one\n"
            "f.yaml:1:1: error: missing required key 'keep_query' in redirect\n");
  EXPECT_EQ(r_.errorCount(), 3u);
}

TEST_F(ConfigNodeTest, UnknownKeyWithoutSuggestionListsValidKeys) {
  ConfigMap map(r_, value("{zzz: 1}"), "when", {"flag", "pool_down"});
  EXPECT_EQ(text(), "f.yaml:1:2: error: unknown key 'zzz' in when (valid keys: flag, pool_down)\n");
}

TEST_F(ConfigNodeTest, IntRangeWithOnlyATypeBoundSaysAtMost) {
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  EXPECT_FALSE(readInt(r_, value("3000000000"), 0, kIntMax));
  EXPECT_EQ(text(), "f.yaml:1:1: error: 'v' must be at most 2147483647 (got 3000000000)\n");
}

TEST_F(ConfigNodeTest, MergeKeysAreNotSupported) {
  ConfigMap map(r_, value("{<<: {a: 1}, b: 2}"), "pool 'web'", {"b"});
  EXPECT_EQ(text(),
            "f.yaml:1:2: error: unknown key '<<' in pool 'web': YAML merge keys are not "
            "supported; write the keys out\n");
}

TEST_F(ConfigNodeTest, HintsNameTheReplacementKey) {
  ConfigMap map(r_, value("{status: 301}"), "redirect", {"to", "code"}, {{"status", "code"}});
  EXPECT_EQ(text(), "f.yaml:1:2: error: unknown key 'status' in redirect; did you mean 'code'?\n");
}

TEST_F(ConfigNodeTest, AnyKeyMapKeepsEntriesInFileOrder) {
  ConfigMap map(r_, value("{b: 1, a: 2, c: 3}"), "pools", {});
  ASSERT_EQ(map.entries().size(), 3u);
  EXPECT_EQ(map.entries()[0].key, "b");
  EXPECT_EQ(map.entries()[2].key, "c");
  EXPECT_EQ(text(), "");
}

TEST_F(ConfigNodeTest, NotAMap) {
  ConfigMap map(r_, value("[1]"), "log", {"level"});
  EXPECT_FALSE(map.isMap());
  EXPECT_FALSE(map.require("level"));  // no second error for the missing key
  EXPECT_EQ(text(), "f.yaml:1:1: error: 'v' must be a map, got a list\n");
}

TEST_F(ConfigNodeTest, ReadInt) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(readInt(r_, value("42"), 0, 100), 42);
  EXPECT_EQ(readInt(r_, value("-3"), -5, 5), -3);
  EXPECT_FALSE(readInt(r_, value("1.5"), 0, 100));
  EXPECT_FALSE(readInt(r_, value("\"42\""), 0, 100));
  EXPECT_FALSE(readInt(r_, value("101"), 0, 100));
  EXPECT_FALSE(readInt(r_, value("-1"), 0, kMax));
  EXPECT_FALSE(readInt(r_, value("99999999999999999999"), 0, kMax));
  EXPECT_FALSE(readInt(r_, value("{a: 1}"), 0, kMax));
  EXPECT_EQ(text(),
            "f.yaml:1:1: error: 'v' must be an integer, got '1.5'\n"
            "f.yaml:1:1: error: 'v' must be an integer, got the string '42': remove the quotes\n"
            "f.yaml:1:1: error: 'v' must be between 0 and 100 (got 101)\n"
            "f.yaml:1:1: error: 'v' must be at least 0 (got -1)\n"
            "f.yaml:1:1: error: 'v' must be an integer, got '99999999999999999999', which is too "
            "large\n"
            "f.yaml:1:1: error: 'v' must be an integer, got a map\n");
}

TEST_F(ConfigNodeTest, ReadBool) {
  EXPECT_EQ(readBool(r_, value("true")), true);
  EXPECT_EQ(readBool(r_, value("off")), false);
  EXPECT_FALSE(readBool(r_, value("'true'")));
  EXPECT_FALSE(readBool(r_, value("1")));
  EXPECT_EQ(text(),
            "f.yaml:1:1: error: 'v' must be true or false, got the string 'true': remove the "
            "quotes\n"
            "f.yaml:1:1: error: 'v' must be true or false, got '1'\n");
}

TEST_F(ConfigNodeTest, ReadDurationAndEnum) {
  EXPECT_EQ(readDuration(r_, value("250ms")), Duration(250));
  EXPECT_FALSE(readDuration(r_, value("0")));
  EXPECT_EQ(readEnum(r_, value("json"), {"json", "combined"}), "json");
  EXPECT_FALSE(readEnum(r_, value("JSON"), {"json", "combined"}));
  EXPECT_EQ(text(),
            "f.yaml:1:1: error: 'v' must be greater than 0\n"
            "f.yaml:1:1: error: 'v' must be one of json, combined (got 'JSON'); did you mean "
            "'json'?\n");
}

TEST_F(ConfigNodeTest, ReadListLabelsItems) {
  ConfigValue list = value("[a, [b]]");
  list.key = "backends";
  auto items = readList(r_, list, /*non_empty=*/true);
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 2u);
  EXPECT_FALSE(readString(r_, (*items)[1]));
  EXPECT_FALSE(readList(r_, value("[]"), /*non_empty=*/true));
  EXPECT_EQ(text(),
            "f.yaml:1:5: error: each item of 'backends' must be a string, got a list\n"
            "f.yaml:1:1: error: 'v' must not be empty\n");
}

TEST_F(ConfigNodeTest, QuoteTextEscapesControlsAndTruncates) {
  EXPECT_EQ(quoteText("a\r\nb"), "'a\\x0d\\x0ab'");
  EXPECT_EQ(quoteText(std::string(50, 'x')), "'" + std::string(40, 'x') + "...'");
}

TEST(DidYouMean, OnlyCloseNames) {
  EXPECT_EQ(didYouMean("pathprefix", {"path", "path_prefix"}), "; did you mean 'path_prefix'?");
  EXPECT_EQ(didYouMean("Match", {"match"}), "; did you mean 'match'?");
  EXPECT_EQ(didYouMean("zzzzzz", {"match", "name"}), "");
  EXPECT_EQ(didYouMean("a", {"to"}), "");  // as far as the word is long: not a suggestion
}

}  // namespace
}  // namespace detour
