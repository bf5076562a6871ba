#!/bin/bash
# The image's HEALTHCHECK: GET /healthz (or the path given as $1) on detour's admin listener and
# succeed on a 200. It uses bash's /dev/tcp, so the slim image needs no curl.
# DETOUR_HEALTHCHECK_ADDR (host:port, default 127.0.0.1:9901) follows a config whose
# admin.listen is elsewhere.
set -u
addr="${DETOUR_HEALTHCHECK_ADDR:-127.0.0.1:9901}"
path="${1:-/healthz}"
host="${addr%:*}"
port="${addr##*:}"
exec 3<>"/dev/tcp/${host}/${port}" || exit 1
printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$addr" >&3 || exit 1
IFS= read -r -t 3 status <&3 || exit 1
case "$status" in
  "HTTP/1."?" 200 "*) exit 0 ;;
  *) echo "detour-healthcheck: ${path}: ${status%$'\r'}" >&2; exit 1 ;;
esac
