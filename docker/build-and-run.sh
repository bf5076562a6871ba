#!/usr/bin/env bash
# Builds detour's container image (docker/Dockerfile) and runs it for real, with no image registry:
#   1. a Debian 12 base image made from Debian's packages (debootstrap --variant=minbase, then
#      podman import as localhost/debian:bookworm-slim), made once and kept;
#   2. the image, built with podman (vfs storage, chroot isolation, host network for apt);
#   3. the container, run with host networking on free ports with a generated config mounted
#      over /etc/detour in a ConfigMap volume's layout, then checked: the process runs as the
#      non-root user; 307 redirects, a fixed answer, forwarding to a backend started here; the
#      file watch reloading a `..data` symlink swap; SIGHUP and SIGUSR1; the HEALTHCHECK and
#      /readyz; and `podman stop` draining a request in flight (/readyz 503 meanwhile), exiting 0
#      with "detour stopped".
# Every podman call uses its own storage under DETOUR_PODMAN_DIR (default /var/tmp/detour-podman)
# so other podman users are not disturbed. Every wait has a deadline.
# Usage: docker/build-and-run.sh [--build-only]         (root; installs podman, runc, debootstrap)
# Environment: DETOUR_PODMAN_DIR, DETOUR_IMAGE (localhost/detour:latest),
#   DETOUR_BASE_IMAGE (localhost/debian:bookworm-slim), DEBIAN_MIRROR (http://deb.debian.org/debian)
set -euo pipefail
cd "$(dirname "$0")/.."

podman_dir="${DETOUR_PODMAN_DIR:-/var/tmp/detour-podman}"
base_image="${DETOUR_BASE_IMAGE:-localhost/debian:bookworm-slim}"
image="${DETOUR_IMAGE:-localhost/detour:latest}"
build_image="${image%:*}-build:${image##*:}"   # the build stage, tagged so its cache survives pruning
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
build_only=0
[[ "${1:-}" == "--build-only" ]] && build_only=1

t0=$SECONDS
say() { printf '[build-and-run %4ds] %s\n' "$((SECONDS - t0))" "$*"; }
fail() { say "FAIL: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || fail "run as root (podman with vfs storage and chroot isolation, debootstrap)"

# ---- tools (Debian packages) ----
missing=()
for p in podman runc debootstrap curl python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -qq
  timeout 900 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$podman_dir"/{storage,run,tmp}
# One run at a time on this storage (a second one waits, up to 30 minutes).
exec 9>"$podman_dir/lock"
flock -w 1800 9 || fail "another build-and-run holds $podman_dir/lock"

pm_flags=(--root "$podman_dir/storage" --runroot "$podman_dir/run" --tmpdir "$podman_dir/tmp"
  --storage-driver=vfs --runtime=runc --cgroup-manager=cgroupfs --events-backend=file)
# Without systemd, podman logs an error about HEALTHCHECK timers at every run, stop and rm, even
# with --health-interval=disable: that line is dropped (podman's exit status is kept).
pm() { podman "${pm_flags[@]}" "$@" 2> >(grep -v 'unable to get systemd connection' >&2); }
tpm() { local t="$1"; shift; timeout "$t" podman "${pm_flags[@]}" "$@" 2> >(grep -v 'unable to get systemd connection' >&2); }
export TMPDIR="$podman_dir/tmp"   # buildah's scratch space, beside the storage

# ---- 1. the base image ----
if pm image exists "$base_image"; then
  say "base image $base_image: present"
else
  say "base image $base_image: debootstrap --variant=minbase bookworm (about a minute)"
  rootfs="$(mktemp -d "$podman_dir/rootfs.XXXXXX")"
  unmount_rootfs() {  # debootstrap mounts proc/sys inside; never rm -rf through a mount
    awk -v r="$rootfs" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r |
      while read -r m; do umount -l "$m" || true; done
  }
  trap 'unmount_rootfs; rm -rf --one-file-system "$rootfs"' EXIT
  if ! timeout 900 debootstrap --variant=minbase bookworm "$rootfs" "$mirror" \
      >"$podman_dir/debootstrap.log" 2>&1; then
    tail -20 "$podman_dir/debootstrap.log"
    fail "debootstrap failed (log: $podman_dir/debootstrap.log)"
  fi
  unmount_rootfs
  # Like the official debian:bookworm-slim: the updates and security suites, no docs/man/locales
  # in later installs, no apt lists or caches.
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: ${mirror}
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Binary::apt::APT::Keep-Downloaded-Packages "false";
Acquire::Languages "none";
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  rm -rf "$rootfs"/usr/share/{man,info,locale}/* "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log
  chmod 0755 "$rootfs"   # mktemp made it 0700: the image's / would shut out non-root users
  tar --numeric-owner -C "$rootfs" -c . |
    pm import -q --change 'CMD ["bash"]' - "$base_image" >/dev/null
  rm -rf --one-file-system "$rootfs"
  trap - EXIT
  say "base image $base_image: imported"
fi

# ---- 2. the image ----
build() {
  timeout 1500 podman "${pm_flags[@]}" build --isolation=chroot --network host --pull=never --layers \
    --format docker --build-arg BASE="$base_image" -f docker/Dockerfile "$@" . 2>&1 |
    while IFS= read -r line; do printf '%(%T)T %s\n' -1 "$line"; done >>"$podman_dir/build.log"
  return "${PIPESTATUS[0]}"
}
: >"$podman_dir/build.log"
say "building $image (install-deps.sh and build.sh in the build stage; cached layers reused)"
build -t "$image" || { tail -40 "$podman_dir/build.log"; fail "image build failed"; }
grep -h ' runtime packages:' "$podman_dir/build.log" | tail -1 | cut -d' ' -f2- || true
# Tag the build stage (the last "--> ID" before the second stage's first step), so that pruning
# the layers of earlier builds keeps it and its Debian packages layer for the next build.
stage_id="$(awk '$2 ~ /^\[[0-9]+\/[0-9]+\]$/ && $3 == "STEP" && $4 ~ /^1\// { if (seen++) { print id; exit } }
  $2 == "-->" && $3 != "Using" { id = $3 }' "$podman_dir/build.log")"
if [[ -n "$stage_id" ]] && pm tag "$stage_id" "$build_image" 2>/dev/null; then
  pm image prune -f >/dev/null 2>&1 || true   # layers of earlier builds
else
  say "note: could not find the build stage's image in the build log; not pruning"
fi
size="$(pm image inspect --format '{{.Size}}' "$image")"
say "image $image built: $((size / 1000000)) MB"
healthcheck="$(pm image inspect --format '{{if .Config.Healthcheck}}{{.Config.Healthcheck.Test}}{{end}}' "$image" 2>/dev/null || true)"
[[ "$healthcheck" == *detour-healthcheck* ]] || fail "the image has no HEALTHCHECK (got '$healthcheck')"
user="$(pm image inspect --format '{{.Config.User}}' "$image")"
[[ -n "$user" && "$user" != root && "$user" != 0 && "$user" != 0:* ]] || fail "the image runs as root"
((build_only)) && { say "PASS (--build-only)"; exit 0; }

# ---- 3. run it ----
work="$(mktemp -d /tmp/detour-container.XXXXXX)"
chmod 755 "$work"   # the container's non-root user reads the mounted config
name="detour-test-$$"
backend_pid=""
cleanup() {
  pm rm -f -t 0 "$name" >/dev/null 2>&1 || true
  [[ -n "$backend_pid" ]] && kill "$backend_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

read -r port admin_port backend_port < <(/usr/bin/python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
EOF
)
say "ports: traffic $port, admin $admin_port, backend $backend_port"

# A backend: GET /hello answers a token; GET /slow marks its arrival, then answers after 3 s
# (a request in flight while the container stops).
token="detour-container-$$-$RANDOM"
cat >"$work/backend.py" <<'EOF'
import http.server, sys, time
port, token, mark = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path == "/slow":
            open(mark, "w").close()
            time.sleep(3)
        body = token + b" " + self.path.encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
/usr/bin/python3 "$work/backend.py" "$backend_port" "$token" "$work/slow-arrived" &
backend_pid=$!
deadline=$((SECONDS + 20))
until curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:${backend_port}/hello"; do
  ((SECONDS < deadline)) || fail "the test backend did not start on 127.0.0.1:${backend_port}"
  sleep 0.1
done

# The config: docker/detour.yaml (the image's default) on these ports, in a mounted folder
# laid out as the kubelet lays out a ConfigMap volume: detour.yaml -> ..data/detour.yaml, and
# ..data -> a timestamped folder, which an update replaces by swapping the ..data symlink.
mkdir -m 755 "$work/etc" "$work/etc/..v1"
sed -e "s/\"0\.0\.0\.0:8080\"/\"127.0.0.1:${port}\"/" \
    -e "s/\"0\.0\.0\.0:9901\"/\"127.0.0.1:${admin_port}\"/" \
    -e "s/\"127\.0\.0\.1:9001\"/\"127.0.0.1:${backend_port}\"/" \
    docker/detour.yaml >"$work/etc/..v1/detour.yaml"
for want in "127.0.0.1:${port}" "127.0.0.1:${admin_port}" "127.0.0.1:${backend_port}"; do
  grep -q "\"$want\"" "$work/etc/..v1/detour.yaml" || fail "docker/detour.yaml changed: could not set $want"
done
chmod 644 "$work/etc/..v1/detour.yaml"
ln -s ..v1 "$work/etc/..data"
ln -s ..data/detour.yaml "$work/etc/detour.yaml"

# --ulimit: podman's default open-file limit is above this machine's hard limit, which runc
# refuses ("error setting rlimit type 7"). --health-interval=disable: no systemd timer for the
# HEALTHCHECK (there is no systemd here); it runs below with `podman healthcheck run`.
run_opts=(--network host --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 --health-interval=disable
  -e "DETOUR_HEALTHCHECK_ADDR=127.0.0.1:${admin_port}" -v "$work/etc:/etc/detour:ro")

out="$(tpm 120 run --rm "${run_opts[@]}" "$image" check --strict -c /etc/detour/detour.yaml 2>&1)" ||
  fail "detour check --strict in the container: $out"
say "in the container: $out"

# Started detached, and not --rm: after `podman stop` the exit code and the log are read.
pm run -d --name "$name" "${run_opts[@]}" "$image" >/dev/null || fail "podman run failed"
logs() { pm logs "$name" 2>&1 || true; }
running() { [[ "$(pm inspect --format '{{.State.Running}}' "$name" 2>/dev/null)" == true ]]; }

deadline=$((SECONDS + 60))
until curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:${port}/status"; do
  running || { logs; fail "the container exited before it answered"; }
  ((SECONDS < deadline)) || { logs; fail "no answer on 127.0.0.1:${port} within 60 s"; }
  sleep 0.2
done
say "container $name answers on 127.0.0.1:${port}"

pid="$(pm inspect --format '{{.State.Pid}}' "$name")"
uid="$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")"
[[ "$uid" != 0 ]] || fail "detour runs as root in the container"
say "ok: detour (host pid $pid) runs as uid $uid"

curl_c() { curl -s --max-time 10 "$@"; }
expect() {  # expect WHAT GOT WANT
  [[ "$2" == "$3" ]] || { logs | tail -20; fail "$1: got '$2', want '$3'"; }
  say "ok: $1 -> $2"
}
expect "POST /api/v1/orders" \
  "$(curl_c -o /dev/null -w '%{http_code} %header{location}' -X POST --data 'item=42' \
      "http://127.0.0.1:${port}/api/v1/orders")" "307 /api/v2/orders"
expect "GET /api/v1/users/7?page=2" \
  "$(curl_c -o /dev/null -w '%{http_code} %header{location}' \
      "http://127.0.0.1:${port}/api/v1/users/7?page=2")" "307 /api/v2/users/7?page=2"
expect "GET /status" "$(curl_c "http://127.0.0.1:${port}/status")" "ok"
expect "GET /hello (forwarded)" "$(curl_c "http://127.0.0.1:${port}/hello")" "$token /hello"

# A ConfigMap update: a new timestamped folder, then ..data swapped to it by a rename. detour's
# file watch reloads it with no signal.
mkdir -m 755 "$work/etc/..v2"
sed 's|body: "ok\\n"|body: "ok, v2\\n"|' "$work/etc/..v1/detour.yaml" >"$work/etc/..v2/detour.yaml"
grep -q 'ok, v2' "$work/etc/..v2/detour.yaml" || fail "could not edit the /status rule"
chmod 644 "$work/etc/..v2/detour.yaml"
ln -s ..v2 "$work/etc/..data_tmp"
mv -T "$work/etc/..data_tmp" "$work/etc/..data"
rm -rf "$work/etc/..v1"
deadline=$((SECONDS + 10))
until [[ "$(curl_c "http://127.0.0.1:${port}/status")" == "ok, v2" ]]; do
  ((SECONDS < deadline)) ||
    { logs | tail -20; fail "the ConfigMap-style ..data swap was not reloaded within 10 s (no signal sent)"; }
  sleep 0.2
done
logs | grep -q "changed: reloading" ||
  { logs | tail -20; fail "the ..data swap took effect without a 'changed: reloading' log line"; }
say "ok: the file watch reloaded the ConfigMap-style ..data swap"

# SIGHUP reloads (the file is unchanged, so the watch stays quiet): one more "reloaded" line.
reloads="$(logs | grep -c 'reloaded ' || true)"
pm kill --signal HUP "$name" >/dev/null
deadline=$((SECONDS + 10))
until (($(logs | grep -c 'reloaded ' || true) > reloads)); do
  ((SECONDS < deadline)) || { logs | tail -20; fail "no 'reloaded' log line within 10 s of SIGHUP"; }
  sleep 0.2
done
expect "GET /status after SIGHUP" "$(curl_c "http://127.0.0.1:${port}/status")" "ok, v2"
say "ok: SIGHUP reloaded the config"

pm kill --signal USR1 "$name" >/dev/null
deadline=$((SECONDS + 10))
until logs | grep -q "log files reopened"; do
  ((SECONDS < deadline)) || fail "no 'log files reopened' within 10 s of SIGUSR1"
  sleep 0.2
done
say "ok: SIGUSR1 reopened the logs"

# The HEALTHCHECK (GET /healthz on the admin listener, by docker/healthcheck.sh in the container).
# The admin listener is part of the image's config: nothing answering on its port is a failure.
expect "GET /healthz (admin)" \
  "$(curl_c -o /dev/null -w '%{http_code}' "http://127.0.0.1:${admin_port}/healthz")" "200"
hc=0; tpm 30 healthcheck run "$name" >/dev/null 2>&1 || hc=$?
((hc == 0)) || { logs | tail -20; fail "HEALTHCHECK: podman healthcheck run exited $hc (want 0: healthy)"; }
say "ok: HEALTHCHECK healthy (/healthz on 127.0.0.1:${admin_port})"
expect "GET /readyz (admin)" \
  "$(curl_c -o /dev/null -w '%{http_code}' "http://127.0.0.1:${admin_port}/readyz")" "200"

# Drain: a request in flight when `podman stop` sends SIGTERM still gets its answer, /readyz
# answers 503 meanwhile (Kubernetes takes the pod out), and detour exits 0.
curl_c -o "$work/slow.out" -w '%{http_code}' "http://127.0.0.1:${port}/slow" >"$work/slow.code" &
slow_pid=$!
deadline=$((SECONDS + 10))
until [[ -e "$work/slow-arrived" ]]; do
  ((SECONDS < deadline)) || fail "GET /slow did not reach the backend within 10 s"
  sleep 0.05
done
stop_start=$SECONDS
tpm 60 stop -t 30 "$name" >/dev/null &
stop_pid=$!
deadline=$((SECONDS + 3))
ready=""
until [[ "$ready" == 503 ]] || ((SECONDS >= deadline)); do
  sleep 0.05
  ready="$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:${admin_port}/readyz" || true)"
done
[[ "$ready" == 503 ]] || fail "GET /readyz while draining: got '$ready', want 503"
say "ok: GET /readyz while draining -> 503"
wait "$stop_pid" || fail "podman stop failed"
stop_took=$((SECONDS - stop_start))
wait "$slow_pid" || true
expect "GET /slow in flight during stop" "$(cat "$work/slow.code") $(cat "$work/slow.out" 2>/dev/null)" \
  "200 $token /slow"
code="$(pm inspect --format '{{.State.ExitCode}}' "$name")"
log_text="$(logs)"
grep -q "draining" <<<"$log_text" || { echo "$log_text" | tail -20; fail "no 'draining' line in the log"; }
grep -q "detour stopped" <<<"$log_text" || { echo "$log_text" | tail -20; fail "no 'detour stopped' line in the log"; }
((stop_took < 30)) || fail "podman stop took ${stop_took}s: detour did not exit before the SIGKILL deadline"
[[ "$code" == 0 ]] || { echo "$log_text" | tail -20; fail "exit code $code after podman stop (want 0)"; }
say "ok: podman stop drained (the in-flight request answered) in ${stop_took}s; exit 0; 'detour stopped' logged"
say "PASS"
