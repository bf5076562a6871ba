# INTERFACE target carrying the warning flags for detour's own code (not third-party sources).
add_library(detour_warnings INTERFACE)
add_library(detour::warnings ALIAS detour_warnings)
target_compile_options(detour_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough -Wno-missing-field-initializers)
# GCC 12 reports std::string operator+ at -O2/-O3 as an overlapping memcpy (a false positive,
# GCC bugs 105329 and 105651); it would fail every Release build under -Werror.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(detour_warnings INTERFACE -Wno-restrict)
endif()
if(DETOUR_WERROR)
  target_compile_options(detour_warnings INTERFACE -Werror)
endif()
