#include <gtest/gtest.h>

#include "routing/rule_table.h"

TEST(RuleTablePlaceholder, Exists) { SUCCEED(); }
