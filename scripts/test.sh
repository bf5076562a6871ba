#!/usr/bin/env bash
# Installs what is missing, builds detour and its tests, and runs every test.
# With DETOUR_SANITIZERS=1 (CI sets it) the suite first runs under ASan+UBSan too, and the
# integration tests under ThreadSanitizer.
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
  # Every integration test (most run several workers: `workers` defaults to the core count)
  # but the ones TSan's slowdown defeats, all single-worker: SlowClients' latency and timing
  # bounds, and the 256 MiB stream against its 120 s timeout. The non-GoogleTest tests and
  # the unit tests (not built here) are left out by name. About 2 min at -j2.
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir build-tsan --output-on-failure -j"$jobs" --timeout 600 \
    -E '^(data|browser|bench|container|k8s|systemd|fuzz)\.|_NOT_BUILT$|^SlowClients\.|^ForwardTest\.LargeUploadAndDownloadStreamInBoundedMemory$'
fi
./scripts/build.sh build -DDETOUR_BUILD_TESTS=ON
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600
