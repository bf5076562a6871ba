#!/usr/bin/env bash
# Installs what detour needs from Debian 12's packages. Idempotent: apt-get runs only when
# something is missing. The browser tests drive Debian's chromium through Debian's chromedriver
# (W3C WebDriver over Node's fetch), so no npm package is needed.
# Usage: scripts/install-deps.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(build-essential cmake pkg-config
  libevent-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  node-llhttp libre2-dev libssl-dev libnghttp2-dev)
test_pkgs=(curl procps chromium chromium-driver ca-certificates prometheus nginx haproxy wrk python3 python3-yaml podman runc debootstrap clang libclang-rt-14-dev)

want=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then

  want+=("${test_pkgs[@]}")
  # Node.js drives the browser and fetch tests; a machine that has its own node keeps it.
  command -v node >/dev/null 2>&1 || want+=(nodejs)
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
