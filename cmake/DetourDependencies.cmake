# All third-party dependencies come from Debian 12 packages (scripts/install-deps.sh).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(LIBEVENT REQUIRED IMPORTED_TARGET libevent_core>=2.1 libevent_pthreads libevent_openssl)
pkg_check_modules(LIBEVENT_EXTRA REQUIRED IMPORTED_TARGET libevent_extra>=2.1)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
find_package(yaml-cpp REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(OpenSSL 3 REQUIRED)

# llhttp: Debian's node-llhttp ships the generated C sources, not a library. Build them here, in
# strict mode (Debian's header defaults to loose mode, which accepts data after
# `Connection: close`, a missing blank line before the body and more).
set(DETOUR_LLHTTP_DIR "/usr/share/llhttp" CACHE PATH "llhttp C sources (node-llhttp)")
set(DETOUR_LLHTTP_INCLUDE "/usr/share/include/llhttp" CACHE PATH "llhttp header (node-llhttp)")
if(NOT EXISTS "${DETOUR_LLHTTP_DIR}/llhttp.c" OR NOT EXISTS "${DETOUR_LLHTTP_INCLUDE}/llhttp.h")
  message(FATAL_ERROR "llhttp sources not found: install node-llhttp (scripts/install-deps.sh)")
endif()
add_library(detour_llhttp STATIC
  "${DETOUR_LLHTTP_DIR}/api.c" "${DETOUR_LLHTTP_DIR}/http.c" "${DETOUR_LLHTTP_DIR}/llhttp.c")
target_include_directories(detour_llhttp SYSTEM PUBLIC "${DETOUR_LLHTTP_INCLUDE}")
target_compile_definitions(detour_llhttp PUBLIC LLHTTP_STRICT_MODE=1)
target_compile_options(detour_llhttp PRIVATE -w)
target_link_libraries(detour_llhttp PRIVATE detour::sanitizers)
set_target_properties(detour_llhttp PROPERTIES POSITION_INDEPENDENT_CODE ON)
