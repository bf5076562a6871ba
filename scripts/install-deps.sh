#!/usr/bin/env bash
# Installs what detour needs from Debian 12's packages (and, with --test, the npm test drivers
# pinned in tests/browser/package-lock.json). Idempotent: apt-get runs only when something is
# missing, npm only when the drivers are not installed yet.
# Usage: scripts/install-deps.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(build-essential cmake pkg-config
  libevent-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  node-llhttp libre2-dev libssl-dev libnghttp2-dev)
test_pkgs=(curl procps chromium ca-certificates prometheus)

want=("${build_pkgs[@]}")
testing=0
if [[ "${1:-}" == "--test" ]]; then
  testing=1
  want+=("${test_pkgs[@]}")
  # Node.js drives the browser and fetch tests; a machine that has its own node keeps it.
  command -v node >/dev/null 2>&1 || want+=(nodejs)
  command -v npm >/dev/null 2>&1 || want+=(npm)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ((testing)) && [[ ! -d tests/browser/node_modules/playwright-core ]]; then
  echo "install-deps: installing the browser test driver (npm ci in tests/browser)"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
