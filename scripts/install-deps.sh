#!/usr/bin/env bash
# Installs the Debian 12 packages detour needs to build, run and test.
# Idempotent: packages already present are skipped; apt-get runs only when something is missing.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config
  libevent-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  node-llhttp libre2-dev libssl-dev libnghttp2-dev)
test_pkgs=(curl python3 procps)

want=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then want+=("${test_pkgs[@]}"); fi

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
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
