#!/usr/bin/env bash
# Installs what is missing, builds detour and its tests, and runs every test.
# With DETOUR_SANITIZERS=1 (CI sets it) the suite first runs under ASan+UBSan too.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --test
jobs="$(nproc)"
if [[ "${DETOUR_SANITIZERS:-0}" == "1" ]]; then
  BUILD_TYPE=RelWithDebInfo ./scripts/build.sh build-asan "-DDETOUR_SANITIZE=address;undefined" \
    -DDETOUR_BUILD_TESTS=ON
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 600
fi
./scripts/build.sh build -DDETOUR_BUILD_TESTS=ON
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600
