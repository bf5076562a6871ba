#!/usr/bin/env bash
# Installs what is missing, builds detour and runs it on config/detour.yaml (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh build
exec ./build/detour run -c config/detour.yaml "$@"
