#!/usr/bin/env bash
# Builds detour. Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# Default: a Release build in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build}"
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
