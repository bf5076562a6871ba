#!/usr/bin/env bash
# detour's benchmark against nginx and HAProxy: the one command.
#
#   tests/bench/run.sh [--quick] [--scenarios a,b,...] [--out FILE] [--detour BINARY] [bench.py options]
#
# Installs what it needs from Debian's packages (nginx, haproxy, wrk, perf, strace, gcc, python3)
# and detour's build dependencies (scripts/install-deps.sh) when missing, builds detour in
# Release (build-bench/, unless --detour names a binary), raises the open-files limit, then
# runs tests/bench/bench.py, which starts every process itself on 127.0.0.1 ports chosen at run
# time and stops exactly those on exit. Prints the table and
# writes it to FILE (default tests/bench/results/latest.md; raw numbers in the .json beside it).
#
#   --quick            each scenario ~2 s, once (the CI smoke)
#   --scenarios LIST   any of a,b,c,d,e,f,g (default: all; see README.md)
#   --out FILE         where the Markdown table goes
#   --detour BINARY    benchmark this binary instead of building build-bench/detour
#   --no-install       do not install packages (fail if something is missing)
#   --rounds N, --duration S, --connections N, --idle N, --upload-mib N, --rules N,
#   --systems detour,nginx,haproxy   passed to bench.py (see bench.py --help)
#
# It is a benchmark, not a test: nothing about time is asserted. Exit status: 0 when every server
# passed its answer checks and every run completed, 1 when something failed (the table says what),
# 2 when the harness could not run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

out="$here/results/latest.md"
detour=""
install=1
pass=()
cmdline="tests/bench/run.sh${*:+ $*}"
while (($#)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --out=*) out="${1#*=}"; shift ;;
    --detour) detour="$2"; shift 2 ;;
    --detour=*) detour="${1#*=}"; shift ;;
    --no-install) install=0; shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --quick) pass+=("$1"); shift ;;
    --*=*) pass+=("$1"); shift ;;
    --*) pass+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    *) echo "run.sh: unexpected argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

# 1. tools, from Debian's packages. perf and strace only count syscalls: optional.
need=() want=()
have() { command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]]; }
have nginx || need+=(nginx)
have haproxy || need+=(haproxy)
have wrk || need+=(wrk)
have taskset || need+=(util-linux)
have gcc || need+=(gcc libc6-dev)
have python3 || need+=(python3)
have perf || want+=(linux-perf)
have strace || want+=(strace)
if ((${#need[@]})) || { ((install)) && ((${#want[@]})); }; then
  if ((install == 0)); then
    echo "run.sh: missing ${need[*]} (and --no-install given)" >&2
    exit 2
  fi
  echo "run.sh: installing ${need[*]} ${want[*]}" >&2
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then
    if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
      echo "run.sh: need root (or passwordless sudo) to install ${need[*]} ${want[*]}" >&2
      exit 2
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  # The nginx and haproxy packages may start system services (port 80) where systemd runs; this
  # benchmark starts its own instances on its own ports and does not care either way.
  $SUDO apt-get update -qq
  if ! $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" "${want[@]}" >/dev/null; then
    ((${#need[@]} == 0)) || $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

# 2. detour, in Release
if [[ -z "$detour" ]]; then
  # detour's own build dependencies, as the README's commands install them (a fresh machine
  # has none of them).
  if ((install)); then (cd "$root" && ./scripts/install-deps.sh) >&2; fi
  echo "run.sh: building detour (Release) in build-bench/" >&2
  (cd "$root" && ./scripts/build.sh build-bench -DDETOUR_BUILD_TESTS=OFF) >&2
  detour="$root/build-bench/detour"
fi
[[ -x "$detour" ]] || { echo "run.sh: no detour binary at $detour" >&2; exit 2; }

# 3. enough file descriptors for (e)'s 10,000 connections (client and server each)
if (($(ulimit -Hn) < 65536)); then ulimit -Hn 65536 2>/dev/null || true; fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

mkdir -p "$(dirname "$out")"
exec python3 "$here/bench.py" --detour "$detour" --out "$out" --command "$cmdline" "${pass[@]}"
