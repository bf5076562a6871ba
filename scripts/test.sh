#!/usr/bin/env bash
# Installs what is missing, builds detour and its tests, and runs every test.
# With DETOUR_SANITIZERS=1 (CI sets it) the suite first runs under ASan+UBSan too, and the
# multi-worker reload/drain/forwarding tests under ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --test
jobs="$(nproc)"
if [[ "${DETOUR_SANITIZERS:-0}" == "1" ]]; then
  BUILD_TYPE=RelWithDebInfo ./scripts/build.sh build-asan "-DDETOUR_SANITIZE=address;undefined" \
    -DDETOUR_BUILD_TESTS=ON
  # A smaller quarantine than ASan's 256 MiB keeps the streaming tests' memory bounds meaningful.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=16 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 600 -LE 'bench|container|fuzz'
  BUILD_TYPE=RelWithDebInfo \
    BUILD_TARGETS="detour detour_integration_tests detour_logging_tests detour_server_tests" \
    ./scripts/build.sh build-tsan -DDETOUR_SANITIZE=thread -DDETOUR_BUILD_TESTS=ON
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir build-tsan --output-on-failure -j"$jobs" --timeout 600 \
    -R '^(Reload|Drain|Logs|AdminTest|ForwardTest|ForwardAcrossReload|SpscRing|AccessLogTest|EventLoopPost|WorkerStats)\.'
fi
./scripts/build.sh build -DDETOUR_BUILD_TESTS=ON
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600
