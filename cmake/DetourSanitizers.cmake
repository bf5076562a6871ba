# INTERFACE target carrying sanitizer flags, chosen by DETOUR_SANITIZE ("address;undefined" or "thread").
add_library(detour_sanitizers INTERFACE)
add_library(detour::sanitizers ALIAS detour_sanitizers)
if(DETOUR_FUZZ)
  # A fuzz build (tests/fuzz, docs/fuzzing.md): every library that links this target (all of
  # detour's, and llhttp) gets coverage instrumentation for libFuzzer plus ASan and UBSan; the
  # fuzzer executables add -fsanitize=fuzzer, which brings libFuzzer's main().
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "DETOUR_FUZZ needs clang (libFuzzer): configure a separate build dir "
                        "with CC=clang CXX=clang++, or use the 'fuzz' preset")
  endif()
  if(DETOUR_SANITIZE)
    message(FATAL_ERROR "DETOUR_FUZZ brings its own sanitizers (address;undefined): "
                        "leave DETOUR_SANITIZE empty")
  endif()
  target_compile_options(detour_sanitizers INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
  target_link_options(detour_sanitizers INTERFACE -fsanitize=address,undefined)
elseif(DETOUR_SANITIZE)
  list(JOIN DETOUR_SANITIZE "," _detour_san)
  target_compile_options(detour_sanitizers INTERFACE
    -fsanitize=${_detour_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(detour_sanitizers INTERFACE -fsanitize=${_detour_san})
  if("undefined" IN_LIST DETOUR_SANITIZE)
    # UBSan's vptr check probes memory through a pipe; when the process has used up its file
    # descriptors (a test does that on purpose) the probe fails and every check reports an
    # "invalid vptr". The check is off; the rest of UBSan stays on.
    target_compile_options(detour_sanitizers INTERFACE -fno-sanitize=vptr)
  endif()
endif()
