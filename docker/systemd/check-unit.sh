#!/usr/bin/env bash
# Checks docker/systemd/detour.service and detour.logrotate against the binary and the shipped
# config: the settings the unit must have (Type, ExecReload sending HUP, SIGTERM, the hardening),
# TimeoutStopSec above config/detour.yaml's server.timeouts.drain, the unit's ExecStartPre check
# passing on config/detour.yaml, SIGUSR1 in the logrotate postrotate, and, where systemd-analyze
# is installed, `systemd-analyze verify` with no finding and an exposure level of at most 3.0 (of 10).
# Usage: docker/systemd/check-unit.sh DETOUR_BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
detour="$(realpath "${1:?usage: check-unit.sh DETOUR_BINARY}")"
unit=docker/systemd/detour.service
rotate=docker/systemd/detour.logrotate
failures=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }

value() { sed -n "s/^$1=//p" "$unit" | tail -1; }   # the last assignment wins, as in systemd
ms() {  # systemd / detour durations in milliseconds: 45s, 2m, 2min, 500ms, "1min 30s", 45 (seconds)
  local s="${1// /}" total=0 n u
  [[ -n "$s" ]] || return 1
  while [[ -n "$s" ]]; do
    [[ "$s" =~ ^([0-9]+)(ms|sec|s|min|m|h)?(.*)$ ]] || return 1
    n=${BASH_REMATCH[1]} u=${BASH_REMATCH[2]:-s} s=${BASH_REMATCH[3]}
    case "$u" in
      ms) total=$((total + n)) ;; s | sec) total=$((total + n * 1000)) ;;
      m | min) total=$((total + n * 60000)) ;; h) total=$((total + n * 3600000)) ;;
    esac
  done
  echo "$total"
}

want() {  # want KEY VALUE: the unit sets KEY=VALUE
  local got; got="$(value "$1")"
  [[ "$got" == "$2" ]] && ok "$1=$got" || bad "$1 is '$got', want '$2'"
}
type="$(value Type)"
[[ "$type" == exec || "$type" == notify ]] && ok "Type=$type" || bad "Type=$type, want exec or notify"
want ExecStart "/usr/local/bin/detour run -c /etc/detour/detour.yaml"
want ExecReload '/bin/kill -HUP $MAINPID'
want KillSignal SIGTERM
want Restart on-failure
want User detour
want NoNewPrivileges yes
want ProtectSystem strict
want ProtectHome yes
want PrivateTmp yes
want PrivateDevices yes
want ProtectKernelTunables yes
want ProtectKernelModules yes
want ProtectControlGroups yes
want RestrictAddressFamilies "AF_INET AF_INET6 AF_UNIX"
want CapabilityBoundingSet CAP_NET_BIND_SERVICE
want AmbientCapabilities CAP_NET_BIND_SERVICE
want ReadWritePaths /var/log/detour
nofile="$(value LimitNOFILE)"
[[ "$nofile" =~ ^[0-9]+$ && "$nofile" -ge 65536 ]] && ok "LimitNOFILE=$nofile" || bad "LimitNOFILE=$nofile, want >= 65536"

drain="$(sed -n 's/^ *drain: *\([0-9a-z]*\).*/\1/p' config/detour.yaml | head -1)"
stop="$(value TimeoutStopSec)"
stop_ms="$(ms "$stop" || echo 0)" drain_ms="$(ms "$drain" || echo 0)"
if ((drain_ms > 0 && stop_ms > drain_ms)); then
  ok "TimeoutStopSec=$stop > server.timeouts.drain $drain (config/detour.yaml)"
else
  bad "TimeoutStopSec='$stop' must exceed server.timeouts.drain '$drain' of config/detour.yaml"
fi

pre="$(value ExecStartPre)"
if [[ "$pre" == "/usr/local/bin/detour check --strict -c /etc/detour/detour.yaml" ]]; then
  if out="$("$detour" check --strict -c config/detour.yaml 2>&1)"; then
    ok "ExecStartPre's check passes on config/detour.yaml: $out"
  else
    bad "config/detour.yaml fails the unit's ExecStartPre check: $out"
  fi
else
  bad "ExecStartPre is '$pre', want the strict check of /etc/detour/detour.yaml"
fi

if grep -q 'SIGUSR1' "$rotate" && grep -q 'postrotate' "$rotate" && grep -q '^/var/log/detour/' "$rotate"; then
  ok "logrotate: /var/log/detour/*.log, postrotate sends SIGUSR1"
else
  bad "logrotate: want /var/log/detour/ files and a postrotate that sends SIGUSR1"
fi

if command -v systemd-analyze >/dev/null 2>&1; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  # verify wants the binaries to exist: point the copy at the one under test.
  sed "s|/usr/local/bin/detour|$detour|g" "$unit" >"$tmp/detour.service"
  if out="$(cd "$tmp" && systemd-analyze verify ./detour.service 2>&1)" && [[ -z "$out" ]]; then
    ok "systemd-analyze verify: no finding"
  else
    bad "systemd-analyze verify: $out"
  fi
  if out="$(cd "$tmp" && systemd-analyze security --offline=yes --threshold=30 ./detour.service 2>&1)"; then
    ok "systemd-analyze security: $(grep -o 'Overall exposure level.*' <<<"$out")"
  else
    bad "systemd-analyze security: exposure above 3.0: $(grep -o 'Overall exposure level.*' <<<"$out")"
  fi
else
  echo "note: systemd-analyze not installed: the unit file is not verified by systemd"
fi

if ((failures)); then echo "FAIL: $failures failure(s)"; exit 1; fi
echo "PASS"
