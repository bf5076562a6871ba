# INTERFACE target carrying sanitizer flags, chosen by DETOUR_SANITIZE ("address;undefined" or "thread").
add_library(detour_sanitizers INTERFACE)
add_library(detour::sanitizers ALIAS detour_sanitizers)
if(DETOUR_SANITIZE)
  list(JOIN DETOUR_SANITIZE "," _detour_san)
  target_compile_options(detour_sanitizers INTERFACE
    -fsanitize=${_detour_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(detour_sanitizers INTERFACE -fsanitize=${_detour_san})
endif()
