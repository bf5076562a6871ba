# INTERFACE target carrying the warning flags for detour's own code (not third-party sources).
add_library(detour_warnings INTERFACE)
add_library(detour::warnings ALIAS detour_warnings)
target_compile_options(detour_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough -Wno-missing-field-initializers)
if(DETOUR_WERROR)
  target_compile_options(detour_warnings INTERFACE -Werror)
endif()
