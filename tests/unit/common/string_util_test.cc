#include "common/string_util.h"

#include <gtest/gtest.h>

namespace detour {
namespace {

TEST(StringUtil, EqualsIgnoreCase) {
  EXPECT_TRUE(equalsIgnoreCase("Content-Length", "content-length"));
  EXPECT_FALSE(equalsIgnoreCase("Content-Length", "content-lengt"));
  EXPECT_FALSE(equalsIgnoreCase("\xc3\xa9", "\xc3\x89"));  // only ASCII folds
}

TEST(StringUtil, ParseDecimalRejectsSignsSpacesAndOverflow) {
  EXPECT_EQ(parseDecimal("0"), 0u);
  EXPECT_EQ(parseDecimal("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(parseDecimal("18446744073709551616"));
  EXPECT_FALSE(parseDecimal(""));
  EXPECT_FALSE(parseDecimal("+1"));
  EXPECT_FALSE(parseDecimal(" 1"));
  EXPECT_FALSE(parseDecimal("0x10"));
}

TEST(StringUtil, TrimOws) {
  EXPECT_EQ(trimOws(" \t a b \t"), "a b");
  EXPECT_EQ(trimOws("   "), "");
}

TEST(StringUtil, EditDistance) {
  EXPECT_EQ(editDistance("path_prefix", "pathprefix"), 1u);
  EXPECT_EQ(editDistance("redirect", "redirect"), 0u);
  EXPECT_EQ(editDistance("", "abc"), 3u);
}

TEST(StringUtil, JsonEscapesControlsAndInvalidUtf8) {
  EXPECT_EQ(jsonQuote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  EXPECT_EQ(jsonQuote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(jsonQuote("\xff"), "\"\\u00ff\"");
}

}  // namespace
}  // namespace detour
