#include <gtest/gtest.h>

#include "config/config_loader.h"

TEST(ConfigLoaderPlaceholder, Exists) { SUCCEED(); }
