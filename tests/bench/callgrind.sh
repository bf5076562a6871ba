#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind (repeatable on a noisy machine,
# unlike time): runs one server under callgrind on loopback, warms it up with wrk, counts
# instructions only while a second wrk run lasts, and prints the top functions per request.
#
#   tests/bench/callgrind.sh [--server detour|nginx] [--detour BIN] [--path /old|/item] [--seconds N]
#                            [--rules N] [--post]
#
# /old is scenario (a), a 307 answered by the server; /item is (b), a GET proxied to the
# benchmark backend; --post sends (c)'s POST with a 1 KiB body instead of a GET. --rules N puts scenario (f)'s table of N rules (gen_rules.py: the last one
# answers /old) in front of detour's forward rule. Build detour with symbols for readable names:
#   BUILD_TARGETS=detour ./scripts/build.sh build-prof -DDETOUR_BUILD_TESTS=OFF -DCMAKE_CXX_FLAGS=-g
# CALLGRIND_KEEP=FILE keeps callgrind's output (for callgrind_annotate --tree=caller FILE).
# Needs valgrind, wrk, gcc and (for --server nginx) nginx from Debian. Every process it starts
# is stopped by pid when it ends; the ports are picked free on 127.0.0.1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
server=detour
detour="$root/build-prof/detour"
path=/old
seconds=5
rules=0
post=0
while (($#)); do
  case "$1" in
    --server) server="$2"; shift 2 ;;
    --detour) detour="$2"; shift 2 ;;
    --path) path="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --rules) rules="$2"; shift 2 ;;
    --post) post=1; shift ;;
    *) echo "usage: $0 [--server detour|nginx] [--detour BIN] [--path P] [--seconds N] [--rules N] [--post]" >&2
       exit 2 ;;
  esac
done
for tool in valgrind callgrind_control callgrind_annotate wrk gcc python3; do
  command -v "$tool" >/dev/null || { echo "callgrind.sh: $tool is missing" >&2; exit 2; }
done
[[ "$server" != detour || -x "$detour" ]] || { echo "callgrind.sh: no $detour (see the header)" >&2; exit 2; }

tmp="$(mktemp -d /tmp/detour-callgrind-XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port="$(free_port)"
backend_port="$(free_port)"
gcc -O2 -o "$tmp/benchtool" "$here/benchtool.c"
"$tmp/benchtool" backend "$backend_port" >/dev/null 2>&1 &
pids+=($!)

if [[ "$server" == detour ]]; then
  cat >"$tmp/detour.yaml" <<EOF
version: 1
server:
  listen: ["127.0.0.1:$port"]
  workers: 1
log: { level: warn, access: off }
pools:
  be: { backends: ["127.0.0.1:$backend_port"], keepalive: 64 }
rules:
EOF
  if ((rules > 0)); then
    python3 "$here/gen_rules.py" "$rules" >>"$tmp/detour.yaml"
  else
    echo "  - { name: old, match: { path: /old }, redirect: { to: /new } }" >>"$tmp/detour.yaml"
  fi
  echo "  - { name: fwd, forward: { pool: be } }" >>"$tmp/detour.yaml"
  cmd=("$detour" run -c "$tmp/detour.yaml" --no-watch)
else
  mkdir -p "$tmp/nginx"
  cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
error_log $tmp/nginx/error.log;
pid $tmp/nginx/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  upstream be { server 127.0.0.1:$backend_port; keepalive 64; }
  server {
    listen 127.0.0.1:$port;
    absolute_redirect off;
    location = /old { add_header Cache-Control no-cache; return 307 /new; }
    location / {
      proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_request_buffering off;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$host;
      proxy_set_header X-Request-Id \$request_id;
    }
  }
}
EOF
  cmd=(/usr/sbin/nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf")
fi

out="$tmp/callgrind.out"
valgrind --tool=callgrind --callgrind-out-file="$out" --instr-atstart=no "${cmd[@]}" \
  >"$tmp/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
for _ in $(seq 100); do
  python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
  sleep 0.2
done
url="http://127.0.0.1:$port$path"
script=()
if ((post)); then
  printf 'wrk.method = "POST"\nwrk.body = string.rep("x", 1024)\n' >"$tmp/post.lua"
  script=(-s "$tmp/post.lua")
fi
wrk -t1 -c16 -d2s "${script[@]}" "$url" >/dev/null
callgrind_control -i on "$server_pid" >/dev/null 2>&1
requests="$(wrk -t1 -c16 -d"${seconds}s" "${script[@]}" "$url" | awk '/requests in/ {print $1}')"
callgrind_control -i off "$server_pid" >/dev/null 2>&1
if [[ "$server" == nginx ]]; then kill -QUIT "$server_pid"; else kill -INT "$server_pid"; fi
wait "$server_pid" 2>/dev/null || true
[[ -n "${CALLGRIND_KEEP:-}" ]] && cp "$out" "$CALLGRIND_KEEP"
echo "$server $path$( ((post)) && echo " POST"): $requests requests counted"
callgrind_annotate --show-percs=no --threshold=99 "$out" 2>/dev/null |
  awk -v n="$requests" '/^ *[0-9,]+ +[^ ]/ {
      c = $1; gsub(",", "", c); $1 = ""; fn = $0; sub(/ \[.*$/, "", fn)
      if (c / n >= 20) printf "%8.0f %s\n", c / n, substr(fn, 1, 110)
    }' | head -30
