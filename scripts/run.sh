#!/usr/bin/env bash
# Installs what is missing, builds detour, starts the demo backend on 127.0.0.1:9001 and runs
# detour on config/detour.yaml in the foreground (Ctrl-C stops both).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh build -DDETOUR_BUILD_TESTS=OFF
./build/detour-demo-backend 9001 &
backend=$!
trap 'kill "$backend" 2>/dev/null || true' EXIT
./build/detour run -c config/detour.yaml "$@"
