#!/usr/bin/env python3
"""detour's benchmark against nginx and HAProxy: the orchestrator behind tests/bench/run.sh.

run.sh installs the tools and builds detour; this script starts every process itself (detour,
nginx, HAProxy, the C backend, wrk, the clients), on 127.0.0.1 ports chosen at run time, pins the
server under test and the load to different cores, checks each server's answers before measuring
it, runs each scenario ROUNDS times with the systems back to back in a rotating order, and writes
a Markdown table (plus the raw numbers as JSON beside it). It asserts nothing about time: the exit
status is 0 when every server passed its checks and every run completed, 1 otherwise (the table
is written either way), 2 when the harness itself could not run.

See README.md for what each figure means.
"""
import argparse
import atexit
import datetime
import json
import os
import platform
import random
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_rules  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
SYSTEMS = ["detour", "nginx", "haproxy"]
PEERS = ["nginx", "haproxy"]
ALL_SCENARIOS = "abcdefg"
TITLES = {
    "a": "(a) 307 redirect, keep-alive",
    "b": "(b) small GET proxied, upstream keep-alive",
    "c": "(c) POST 1 KiB proxied",
    "d": "(d) 1 GiB upload streamed to a sink",
    "e": "(e) idle keep-alive connections",
    "f": "(f) 307 on a 10,000-rule table (last rule matches) vs 10 rules",
    "ga": "(g·a) = (a) with 2 workers",
    "gb": "(g·b) = (b) with 2 workers",
}
TARGETS = {  # from docs/design.md, "Numbers it is built to reach"; shown, never asserted
    "a": "CPU/req ≤ 0.8 × nginx's, req/s ≥ nginx's",
    "b": "CPU/req ≤ 0.9 × nginx's and < HAProxy's",
    "c": "CPU/req ≤ 0.9 × the better peer's",
    "d": "throughput ≥ nginx's; peak RSS ≤ 8 MiB; ≤ 64 syscalls/MiB",
    "e": "≤ 1 KiB RSS per connection",
    "f": "req/s(10k rules) ≥ 0.95 × req/s(10 rules)",
    "g": "no loss against 1 worker",
}
# Syscalls counted one by one (the total comes from raw_syscalls:sys_enter). Opening all ~360
# syscalls:sys_enter_* tracepoints takes perf 10+ s per run, so only the usual suspects of a
# network proxy get a per-syscall count; the rest shows up as "other".
SYSCALLS_OF_INTEREST = (
    "read readv write writev recvfrom sendto recvmsg sendmsg sendfile64 splice epoll_wait "
    "epoll_pwait epoll_ctl accept accept4 close shutdown ioctl fcntl setsockopt getsockopt "
    "getsockname getpeername connect socket futex mmap munmap brk madvise mprotect "
    "clock_gettime gettimeofday getpid gettid getrandom timerfd_settime eventfd2 pipe2 "
    "io_uring_enter openat newfstat").split()


def log(msg):
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


class HarnessError(Exception):
    pass


class CheckFailed(Exception):
    pass


# ---------------------------------------------------------------- processes we start

class Procs:
    """Every process this script starts, so that exit (normal, error or signal) stops exactly
    those, and the children they forked (nginx's workers), by pid."""

    def __init__(self):
        self.procs = []

    def spawn(self, args, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(args, **kw)
        self.procs.append(p)
        return p

    def stop(self, p, grace=5.0):
        if p.poll() is None:
            kids = descendants(p.pid)
            try:
                p.terminate()
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
            for k in kids:  # nginx's workers, should they outlive their master
                try:
                    os.kill(k, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if p in self.procs:
            self.procs.remove(p)

    def stop_all_of(self, pred):
        for p in list(self.procs):
            if pred(list(p.args)):
                self.stop(p, grace=3.0)

    def stop_all(self):
        for p in list(reversed(self.procs)):
            try:
                self.stop(p, grace=3.0)
            except Exception as e:  # keep stopping the others
                log(f"could not stop pid {p.pid}: {e}")


PROCS = Procs()


def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        for c in children(todo.pop()):
            out.append(c)
            todo.append(c)
    return out


def cpu_ticks(pids):
    """utime+stime (clock ticks) summed over pids; a process's /proc/PID/stat counts all of its
    threads, live and exited."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total


def user_ticks(pids):
    """utime alone (clock ticks) summed over pids: the part of cpu_ticks spent in user space."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            total += int(f.read().rsplit(")", 1)[1].split()[11])
    return total


def sched_ns(pids):
    """On-CPU time in ns from /proc/PID/task/*/schedstat (live threads only): a cross-check of the
    tick-based utime+stime."""
    total = 0
    for pid in pids:
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


# ---------------------------------------------------------------- ports

USED_PORTS = set()


def free_port():
    """A port on 127.0.0.1 that nothing is bound to, below the ephemeral range (so no client
    socket of this run can take it), checked by binding it."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            eph_lo = int(f.read().split()[0])
    except OSError:
        eph_lo = 32768
    lo, hi = (10000, eph_lo - 1) if eph_lo > 12000 else (61000, 65000)
    for _ in range(500):
        port = random.randint(lo, hi)
        if port in USED_PORTS:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        USED_PORTS.add(port)
        return port
    raise HarnessError("no free port found on 127.0.0.1")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(pred, deadline_s, what, proc=None, logfile=None):
    end = time.monotonic() + deadline_s
    delay = 0.005
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            tail = ""
            if logfile and os.path.exists(logfile):
                with open(logfile, errors="replace") as f:
                    tail = f.read()[-1500:]
            raise CheckFailed(f"{what}: the process exited with status {proc.returncode}. {tail}")
        if pred():
            return
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    raise CheckFailed(f"{what}: not ready within {deadline_s:.0f} s")


# ---------------------------------------------------------------- servers

def fill(template_path, values):
    with open(template_path) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace(f"@@{k}@@", str(v))
    left = re.findall(r"@@[A-Z_]+@@", text)
    if left:
        raise HarnessError(f"{template_path}: unfilled fields {sorted(set(left))}")
    return text


DEFAULT_RULES = """\
  - name: old
    match: { path: /old }
    redirect: { to: /new, code: 307 }
  - name: app
    forward: { pool: bench_backend }
"""


class Server:
    """One running instance of a system under test."""

    def __init__(self, system, tools, tmp, backend_port, workers, cpus, rules=None, maxconn=4096):
        self.system = system
        self.tools = tools
        self.workers = workers
        self.cpus = cpus
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"{system}-", dir=tmp)
        self.log = os.path.join(self.dir, "stderr.log")
        vals = {"PORT": self.port, "WORKERS": workers, "BACKEND_PORT": backend_port,
                "DIR": self.dir, "MAXCONN": maxconn, "NOFILE": tools["nofile"]}
        logf = open(self.log, "w")
        if system == "detour":
            vals["RULES"] = rules if rules is not None else DEFAULT_RULES
            cfg = os.path.join(self.dir, "detour.yaml")
            with open(cfg, "w") as f:
                f.write(fill(os.path.join(HERE, "detour.yaml.in"), vals))
            ready = os.path.join(self.dir, "ready")
            args = [tools["detour"], "run", "-c", cfg, "--ready-file", ready]
            self.proc = PROCS.spawn(["taskset", "-c", cpus] + args, stdout=logf, stderr=logf)

            def is_ready():
                try:
                    with open(ready) as f:
                        return "ready" in f.read().split()
                except OSError:
                    return False
            wait_until(is_ready, 30, "detour ready file", self.proc, self.log)
        elif system == "nginx":
            vals["USER_LINE"] = f"user {tools['user']};" if os.geteuid() == 0 else "# (not root: no user directive)"
            for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
                os.makedirs(os.path.join(self.dir, d), exist_ok=True)
            cfg = os.path.join(self.dir, "nginx.conf")
            with open(cfg, "w") as f:
                f.write(fill(os.path.join(HERE, "nginx.conf.in"), vals))
            args = [tools["nginx"], "-p", self.dir, "-c", cfg, "-e", os.path.join(self.dir, "error.log")]
            self.proc = PROCS.spawn(["taskset", "-c", cpus] + args, stdout=logf, stderr=logf)
            wait_until(lambda: len(children(self.proc.pid)) >= workers, 15, "nginx workers",
                       self.proc, os.path.join(self.dir, "error.log"))
        elif system == "haproxy":
            cfg = os.path.join(self.dir, "haproxy.cfg")
            with open(cfg, "w") as f:
                f.write(fill(os.path.join(HERE, "haproxy.cfg.in"), vals))
            args = [tools["haproxy"], "-f", cfg, "-db", "-p", os.path.join(self.dir, "haproxy.pid")]
            self.proc = PROCS.spawn(["taskset", "-c", cpus] + args, stdout=logf, stderr=logf)
        else:
            raise HarnessError(f"unknown system {system}")
        logf.close()
        wait_until(lambda: port_open(self.port), 15, f"{system} port {self.port}", self.proc, self.log)

    def pids(self):
        """Every process of the instance (nginx: master and workers)."""
        return [self.proc.pid] + descendants(self.proc.pid)

    def serving_pids(self):
        """The processes that serve connections: nginx's workers; detour and HAProxy are one
        process each (threads included)."""
        if self.system == "nginx":
            return children(self.proc.pid) or [self.proc.pid]
        return [self.proc.pid]

    def hwm_kib(self):
        return sum(status_kib(p, "VmHWM") for p in self.serving_pids())

    def rss_kib(self):
        return sum(status_kib(p, "VmRSS") for p in self.serving_pids())

    def stop(self):
        PROCS.stop(self.proc)


# ---------------------------------------------------------------- checks (before measuring)

def http_req(port, method, path, body=None, conn=None):
    import http.client
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/octet-stream"} if body is not None else {}
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    return c, r, data


def check_redirect(port, location):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for i in range(2):  # twice on one connection: keep-alive holds
            _, r, _ = http_req(port, "GET", "/old", conn=conn)
            if r.status != 307:
                raise CheckFailed(f"GET /old: status {r.status}, want 307")
            if r.getheader("Location") != location:
                raise CheckFailed(f"GET /old: Location {r.getheader('Location')!r}, want {location!r}")
            if "no-cache" not in (r.getheader("Cache-Control") or ""):
                raise CheckFailed(f"GET /old: Cache-Control {r.getheader('Cache-Control')!r}, want no-cache")
            if r.will_close:
                raise CheckFailed("GET /old: the server closes the connection (no keep-alive)")
    finally:
        conn.close()


def check_get(port, body_bytes):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for i in range(2):
            _, r, data = http_req(port, "GET", "/item", conn=conn)
            if r.status != 200 or len(data) != body_bytes:
                raise CheckFailed(f"GET /item: status {r.status}, {len(data)} body bytes; want 200 and {body_bytes}")
            if r.will_close:
                raise CheckFailed("GET /item: the server closes the connection (no keep-alive)")
    finally:
        conn.close()


def check_post(port, n):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        _, r, data = http_req(port, "POST", "/post", body=b"x" * n, conn=conn)
        want = f"received {n}\n".encode()
        if r.status != 200 or data != want:
            raise CheckFailed(f"POST /post ({n} bytes): status {r.status}, body {data[:80]!r}; want 200 {want!r}")
    finally:
        conn.close()


# ---------------------------------------------------------------- load and measurement

def parse_wrk(out):
    for line in out.splitlines():
        if line.startswith("BENCHJSON "):
            return json.loads(line[len("BENCHJSON "):])
    raise HarnessError(f"no BENCHJSON line in wrk's output:\n{out[-2000:]}")


def run_wrk(tools, port, path, script, duration, conns, threads, cpus):
    cmd = ["taskset", "-c", cpus, tools["wrk"], "-t", str(threads), "-c", str(conns),
           "-d", f"{duration}s", "--timeout", "2s", "-s", os.path.join(HERE, script),
           f"http://127.0.0.1:{port}{path}"]
    env = dict(os.environ, BENCH_LUA_DIR=HERE)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30, env=env)
    except subprocess.TimeoutExpired:
        raise CheckFailed(f"wrk did not finish within {duration + 30:.0f} s")
    if p.returncode != 0:
        raise CheckFailed(f"wrk exited {p.returncode}: {p.stderr[-500:]} {p.stdout[-500:]}")
    return parse_wrk(p.stdout)


class SyscallCounter:
    """Counts the syscalls of a set of pids over an exact window: perf stat on the
    raw_syscalls:sys_enter and syscalls:sys_enter_* tracepoints, enabled and disabled through a
    control fifo; or strace -c -f when perf cannot (counts under strace, whose overhead slows the
    server, but the count per request stays right)."""

    def __init__(self, method, tmp, events):
        self.method = method
        self.tmp = tmp
        self.events = events

    def start(self, pids):
        self.pids = pids
        self.out = tempfile.mktemp(prefix="sys-", suffix=".txt", dir=self.tmp)
        if self.method == "perf":
            self.ctl = tempfile.mktemp(prefix="ctl-", dir=self.tmp)
            self.ack = tempfile.mktemp(prefix="ack-", dir=self.tmp)
            os.mkfifo(self.ctl)
            os.mkfifo(self.ack)
            ev = ["-e", "raw_syscalls:sys_enter"]
            for e in self.events:
                ev += ["-e", f"syscalls:sys_enter_{e}"]
            self.proc = PROCS.spawn(
                ["perf", "stat", "-x,", "-o", self.out, "-D", "-1", "--control",
                 f"fifo:{self.ctl},{self.ack}"] + ev + ["-p", ",".join(map(str, pids)), "--", "head", "-c1"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # open() of a fifo blocks until the other end opens it: bound it by perf's liveness
            self.ctl_fd = self._open_fifo(self.ctl, os.O_WRONLY)
            self.ack_fd = self._open_fifo(self.ack, os.O_RDONLY)
            self._command("enable")
        else:
            args = ["strace", "-c", "-f", "-o", self.out]
            for p in pids:
                args += ["-p", str(p)]
            self.proc = PROCS.spawn(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            attached = 0
            end = time.monotonic() + 15
            while attached < len(pids) and time.monotonic() < end:
                r, _, _ = select.select([self.proc.stderr], [], [], 0.5)
                if r:
                    line = self.proc.stderr.readline()
                    if not line:
                        break
                    if "attached" in line:
                        attached += 1
            time.sleep(0.2)

    def _open_fifo(self, path, flags):
        end = time.monotonic() + 15
        while time.monotonic() < end:
            try:
                return os.open(path, flags | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                if self.proc.poll() is not None:
                    raise CheckFailed("perf exited before its control fifo opened")
                time.sleep(0.01)
        raise CheckFailed("perf's control fifo never opened")

    def _command(self, cmd):
        os.write(self.ctl_fd, (cmd + "\n").encode())
        end = time.monotonic() + 15
        while time.monotonic() < end:
            r, _, _ = select.select([self.ack_fd], [], [], 0.5)
            if r:
                try:
                    if os.read(self.ack_fd, 64):
                        return
                except BlockingIOError:
                    pass
            if self.proc.poll() is not None:
                raise CheckFailed(f"perf exited during '{cmd}'")
        raise CheckFailed(f"perf did not acknowledge '{cmd}'")

    def stop(self):
        """Returns (total, {syscall: count})."""
        if self.method == "perf":
            self._command("disable")
            self.proc.stdin.write(b"x")
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                PROCS.stop(self.proc)
                raise CheckFailed("perf did not exit")
            PROCS.stop(self.proc)
            os.close(self.ctl_fd)
            os.close(self.ack_fd)
            total, per = None, {}
            with open(self.out) as f:
                for line in f:
                    parts = line.strip().split(",")
                    if len(parts) < 3 or not parts[0] or parts[0].startswith("<"):
                        continue
                    try:
                        n = int(float(parts[0]))
                    except ValueError:
                        continue
                    if parts[2] == "raw_syscalls:sys_enter":
                        total = n
                    elif parts[2].startswith("syscalls:sys_enter_"):
                        per[parts[2][len("syscalls:sys_enter_"):]] = n
            if total is None:
                raise CheckFailed(f"perf counted nothing: {open(self.out).read()[-500:]}")
            return total, per
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        PROCS.stop(self.proc)
        total, per = None, {}
        with open(self.out) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 5 and parts[-1] == "total":
                    total = int(parts[3])
                elif len(parts) >= 5 and parts[3].isdigit():
                    per[parts[-1]] = int(parts[3])
        if total is None:
            raise CheckFailed("strace -c printed no total")
        return total, per


def detect_syscall_method(tmp):
    """perf stat on the syscall tracepoints where the kernel allows it, else strace."""
    if shutil.which("perf"):
        try:
            p = subprocess.run(["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true"],
                               capture_output=True, text=True, timeout=30)
            m = re.search(r"^(\d+),.*raw_syscalls:sys_enter", p.stderr, re.M)
            if p.returncode == 0 and m and int(m.group(1)) > 0:
                events = []
                base = "/sys/kernel/tracing/events/syscalls"
                if not os.path.isdir(base):
                    base = "/sys/kernel/debug/tracing/events/syscalls"
                for e in SYSCALLS_OF_INTEREST:
                    if os.path.isdir(f"{base}/sys_enter_{e}"):
                        events.append(e)
                return "perf", events
        except (subprocess.TimeoutExpired, OSError):
            pass
    if shutil.which("strace"):
        try:
            p = subprocess.run(["strace", "-c", "-f", "-o", os.devnull, "true"], capture_output=True, timeout=30)
            if p.returncode == 0:
                return "strace", []
        except (subprocess.TimeoutExpired, OSError):
            pass
    return None, []


# ---------------------------------------------------------------- statistics and formatting

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_num(v, kind):
    if v is None:
        return "–"
    if kind == "rps":
        return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"
    if kind == "us":
        return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"
    if kind == "cpu":
        return f"{v:.2f}" if v < 100 else f"{v:.0f}"
    if kind == "sys":
        return f"{v:.2f}" if v < 100 else f"{v:.0f}"
    if kind == "mib":
        return f"{v:.1f}"
    if kind == "kib":
        return f"{v:.2f}"
    if kind == "mibs":
        return f"{v:.0f}"
    if kind == "ms":
        return f"{v:.0f}"
    return f"{v:.3g}"


def cell(values, kind):
    vals = [v for v in values if v is not None]
    if not vals:
        return "–"
    m = statistics.median(vals)
    if len(vals) == 1:
        return fmt_num(m, kind)
    return f"{fmt_num(m, kind)} ({fmt_num(min(vals), kind)}–{fmt_num(max(vals), kind)})"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}"


# ---------------------------------------------------------------- the benchmark

class Bench:
    def __init__(self, args, tools):
        self.a = args
        self.tools = tools
        self.tmp = tempfile.mkdtemp(prefix="detour-bench-")
        atexit.register(shutil.rmtree, self.tmp, True)
        self.results = {}      # key -> system -> {"runs": [...], "syscalls": {...}, "errors": [...]}
        self.errors = []
        self.notes = []
        self.sys_method, self.sys_events = detect_syscall_method(self.tmp)
        n = os.cpu_count() or 1
        self.server_cpus = "0"
        self.load_cpus = "1" if n >= 2 else "0"
        self.both_cpus = "0,1" if n >= 2 else "0"
        if n < 2:
            self.notes.append("only one CPU: the server under test and the load share it")
        self.backend = None

    # -- helpers
    def rec(self, key, system):
        return self.results.setdefault(key, {}).setdefault(system, {"runs": [], "errors": []})

    def fail(self, key, system, msg):
        msg = msg.strip().replace("\n", " ")[:600]
        log(f"{key}/{system}: FAILED: {msg}")
        self.rec(key, system)["errors"].append(msg)
        self.errors.append(f"{TITLES.get(key, key)} — {system}: {msg}")

    def start_backend(self, cpus):
        if self.backend is not None:
            PROCS.stop(self.backend)
        self.backend_port = free_port()
        self.backend = PROCS.spawn(["taskset", "-c", cpus, self.tools["benchtool"], "backend",
                                    str(self.backend_port), str(self.a.body_bytes)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: port_open(self.backend_port), 10, "backend", self.backend)

    def order(self, systems, rnd):
        k = rnd % len(systems)
        return systems[k:] + systems[:k]

    def syscall_run(self, server, fn):
        """Runs fn() (a load that returns requests or MiB) with the server's syscalls counted;
        returns (total, per-syscall, units)."""
        if not self.sys_method:
            return None
        counter = SyscallCounter(self.sys_method, self.tmp, self.sys_events)
        try:
            counter.start(server.pids())
        except CheckFailed as e:
            self.no_syscalls(e)
            return None
        try:
            units = fn()
        finally:
            try:
                total, per = counter.stop()
            except CheckFailed as e:
                self.no_syscalls(e)
                return None
        return {"method": self.sys_method, "total": total, "per": per, "units": units}

    def no_syscalls(self, err):
        """Counting syscalls is a nicety: when the tool fails here, say so and go on without."""
        log(f"counting syscalls with {self.sys_method} failed ({err}); no syscall figures from here on")
        self.notes.append(f"counting syscalls with {self.sys_method} failed ({err}); later syscall figures are missing")
        PROCS.stop_all_of(lambda a: a[:1] in (["perf"], ["strace"]))
        self.sys_method = None

    # -- wrk scenarios: a, b, c, f, g
    def load_scenario(self, key, variants, path, script, check, workers=1, server_cpus=None,
                      load_cpus=None, threads=1):
        """variants: list of (label, system, rules) run in rotation; label keys the results."""
        server_cpus = server_cpus or self.server_cpus
        load_cpus = load_cpus or self.load_cpus
        log(f"{TITLES[key]}: {self.a.rounds} round(s) × {len(variants)} system(s), {self.a.duration} s each")
        self.start_backend(load_cpus)
        labels = [v[0] for v in variants]
        for rnd in range(self.a.rounds):
            for label in self.order(labels, rnd):
                _, system, rules = next(v for v in variants if v[0] == label)
                r = self.rec(key, label)
                if r["errors"]:
                    continue  # one failure is enough; keep the table honest
                server = None
                try:
                    server = Server(system, self.tools, self.tmp, self.backend_port, workers,
                                    server_cpus, rules=rules)
                    check(server.port)
                    if self.a.warmup > 0:
                        run_wrk(self.tools, server.port, path, script, self.a.warmup,
                                self.a.connections, threads, load_cpus)
                    pids = server.pids()
                    c0, u0, s0 = cpu_ticks(pids), user_ticks(pids), sched_ns(pids)
                    w = run_wrk(self.tools, server.port, path, script, self.a.duration,
                                self.a.connections, threads, load_cpus)
                    c1, u1, s1 = cpu_ticks(pids), user_ticks(pids), sched_ns(pids)
                    req = w["requests"]
                    # a timeout is a latency figure (over wrk's 2 s), not a wrong answer
                    errs = sum(v for k, v in w["errors"].items() if k != "timeout")
                    run = {
                        "round": rnd, "requests": req, "seconds": w["duration_us"] / 1e6,
                        "rps": req / (w["duration_us"] / 1e6) if w["duration_us"] else None,
                        "p50_us": w["p50_us"], "p99_us": w["p99_us"],
                        "cpu_s": (c1 - c0) / CLK_TCK,
                        "cpu_us_per_req": (c1 - c0) / CLK_TCK * 1e6 / req if req else None,
                        "user_us_per_req": (u1 - u0) / CLK_TCK * 1e6 / req if req else None,
                        "sched_us_per_req": (s1 - s0) / 1e3 / req if req else None,
                        "errors": w["errors"], "hwm_kib": server.hwm_kib(),
                    }
                    r["runs"].append(run)
                    log(f"  {label:>14} round {rnd + 1}: {run['rps']:.0f} req/s, "
                        f"{run['cpu_us_per_req'] or 0:.2f} µs CPU/req, p99 {run['p99_us']} µs"
                        + (f", {errs} errors" if errs else ""))
                    if errs:
                        self.fail(key, label, f"wrk counted errors {w['errors']} in round {rnd + 1}")
                    elif w["errors"]["timeout"]:
                        self.notes.append(f"{TITLES[key]}, {label}, round {rnd + 1}: "
                                          f"{w['errors']['timeout']} requests over wrk's 2 s timeout")
                    if rnd == self.a.rounds - 1 and self.sys_method:
                        sdur = self.a.syscall_duration if self.sys_method == "perf" else 1
                        sc = self.syscall_run(server, lambda: run_wrk(
                            self.tools, server.port, path, script, sdur, self.a.connections,
                            threads, load_cpus)["requests"])
                        r["syscalls"] = sc
                except CheckFailed as e:
                    self.fail(key, label, str(e))
                finally:
                    if server:
                        server.stop()

    def scen_a(self):
        self.load_scenario("a", [(s, s, None) for s in self.systems], "/old", "report.lua",
                           lambda p: check_redirect(p, "/new"))

    def scen_b(self):
        self.load_scenario("b", [(s, s, None) for s in self.systems], "/item", "report.lua",
                           lambda p: check_get(p, self.a.body_bytes))

    def scen_c(self):
        self.load_scenario("c", [(s, s, None) for s in self.systems], "/post", "post1k.lua",
                           lambda p: check_post(p, 1024))

    def scen_f(self):
        if "detour" not in self.systems:
            return
        big = self.a.rules
        self.f_labels = ("detour 10 rules", f"detour {big:,} rules")
        variants = [(self.f_labels[0], "detour", gen_rules.generate(10)),
                    (self.f_labels[1], "detour", gen_rules.generate(big))]
        self.load_scenario("f", variants, "/old", "report.lua", lambda p: check_redirect(p, "/last"))

    def scen_g(self):
        variants = [(s, s, None) for s in self.systems]
        self.load_scenario("ga", variants, "/old", "report.lua", lambda p: check_redirect(p, "/new"),
                           workers=2, server_cpus=self.both_cpus, load_cpus=self.both_cpus, threads=2)
        self.load_scenario("gb", variants, "/item", "report.lua",
                           lambda p: check_get(p, self.a.body_bytes),
                           workers=2, server_cpus=self.both_cpus, load_cpus=self.both_cpus, threads=2)

    # -- (d) upload
    def upload(self, port, nbytes):
        cmd = ["taskset", "-c", self.load_cpus, self.tools["benchtool"], "upload", str(port), "/upload", str(nbytes)]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            raise CheckFailed("the upload did not finish within 300 s")
        try:
            res = json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise CheckFailed(f"upload client: {p.stdout[-300:]} {p.stderr[-300:]}")
        want = f"received {nbytes}"
        if res["status"] != 200 or res["sent"] != nbytes or res["body"].strip() != want:
            raise CheckFailed(f"upload of {nbytes} bytes: status {res['status']}, sent {res['sent']}, "
                              f"answer {res['body'].strip()!r}; want 200 {want!r}")
        return res

    def scen_d(self):
        key = "d"
        nbytes = self.a.upload_mib * 1024 * 1024
        log(f"{TITLES[key]}: {self.a.rounds} round(s), {self.a.upload_mib} MiB each")
        self.start_backend(self.load_cpus)
        for rnd in range(self.a.rounds):
            for system in self.order(self.systems, rnd):
                r = self.rec(key, system)
                if r["errors"]:
                    continue
                server = None
                try:
                    server = Server(system, self.tools, self.tmp, self.backend_port, 1, self.server_cpus)
                    self.upload(server.port, 1024 * 1024)  # the check: 1 MiB arrives whole
                    pids = server.pids()
                    c0 = cpu_ticks(pids)
                    res = self.upload(server.port, nbytes)
                    c1 = cpu_ticks(pids)
                    mib = nbytes / 1048576
                    run = {"round": rnd, "seconds": res["seconds"], "mib_s": mib / res["seconds"],
                           "cpu_s": (c1 - c0) / CLK_TCK, "cpu_ms_per_gib": (c1 - c0) / CLK_TCK * 1e3 / (mib / 1024),
                           "hwm_kib": server.hwm_kib()}
                    r["runs"].append(run)
                    log(f"  {system:>8} round {rnd + 1}: {run['mib_s']:.0f} MiB/s, peak RSS "
                        f"{run['hwm_kib'] / 1024:.1f} MiB, CPU {run['cpu_s']:.2f} s")
                    if rnd == self.a.rounds - 1 and self.sys_method:
                        sbytes = min(nbytes, (256 if self.sys_method == "perf" else 64) * 1048576)
                        r["syscalls"] = self.syscall_run(
                            server, lambda: (self.upload(server.port, sbytes), sbytes / 1048576)[1])
                except CheckFailed as e:
                    self.fail(key, system, str(e))
                finally:
                    if server:
                        server.stop()

    # -- (e) idle connections
    def scen_e(self):
        key = "e"
        n = self.a.idle
        log(f"{TITLES[key]}: {self.a.rounds} round(s), {n} connections each")
        self.start_backend(self.load_cpus)
        for rnd in range(self.a.rounds):
            for system in self.order(self.systems, rnd):
                r = self.rec(key, system)
                if r["errors"]:
                    continue
                server = client = None
                conns, maxconn = n, n + 1024
                if system == "haproxy" and 2 * maxconn + 100 > self.tools["nofile"]:
                    # HAProxy reserves two descriptors per connection (client and server side)
                    # and refuses to start when maxconn needs more than the open-files limit.
                    maxconn = (self.tools["nofile"] - 100) // 2
                    conns = min(n, maxconn - 64)
                    note = (f"(e) HAProxy held {conns:,} connections, not {n:,}: it needs two file "
                            f"descriptors per connection and the open-files limit here is "
                            f"{self.tools['nofile']} (run.sh could not raise it)")
                    if note not in self.notes:
                        self.notes.append(note)
                try:
                    server = Server(system, self.tools, self.tmp, self.backend_port, 1, self.server_cpus,
                                    maxconn=maxconn)
                    check_redirect(server.port, "/new")
                    before = server.rss_kib()
                    client = PROCS.spawn(["taskset", "-c", self.load_cpus, self.tools["benchtool"], "idle",
                                          str(server.port), "/old", str(conns)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                    rd, _, _ = select.select([client.stdout], [], [], 120)
                    line = client.stdout.readline().decode() if rd else ""
                    if not line.startswith("opened"):
                        client.stdin.close()
                        client.wait(timeout=30)
                        err = client.stderr.read().decode(errors="replace")
                        raise CheckFailed(f"idle client: {line.strip()} {err.strip()[-400:]}")
                    # let the numbers settle: RSS stops moving once every connection is parked
                    last, stable_since, end = server.rss_kib(), time.monotonic(), time.monotonic() + 5
                    while time.monotonic() < end and time.monotonic() - stable_since < 0.5:
                        time.sleep(0.1)
                        now = server.rss_kib()
                        if now != last:
                            last, stable_since = now, time.monotonic()
                    after = server.rss_kib()
                    check_redirect(server.port, "/new")  # still answering with n idle connections
                    run = {"round": rnd, "connections": conns, "rss_before_kib": before, "rss_after_kib": after,
                           "kib_per_conn": (after - before) / conns, "hwm_kib": server.hwm_kib()}
                    r["runs"].append(run)
                    log(f"  {system:>8} round {rnd + 1}: RSS {before} -> {after} KiB, "
                        f"{run['kib_per_conn'] * 1024:.0f} B per connection")
                except CheckFailed as e:
                    self.fail(key, system, str(e))
                finally:
                    if client:
                        try:
                            client.stdin.close()
                        except OSError:
                            pass
                        PROCS.stop(client)
                    if server:
                        server.stop()

    # -- driver
    def run(self):
        self.systems = [s for s in SYSTEMS if s in self.a.systems]
        self.started = datetime.datetime.now()
        self.load_before = os.getloadavg()
        for s in self.a.scenarios:
            getattr(self, f"scen_{s}")()
        if self.backend is not None:
            PROCS.stop(self.backend)
        self.load_after = os.getloadavg()
        self.finished = datetime.datetime.now()

    # -- report
    def sysc(self, key, system, per_unit):
        r = self.results.get(key, {}).get(system, {})
        sc = r.get("syscalls")
        if not sc or not sc["units"]:
            return None
        return sc["total"] / sc["units"] * per_unit

    def runs(self, key, system, field):
        return [run.get(field) for run in self.results.get(key, {}).get(system, {}).get("runs", [])]

    def report(self):
        a = self.a
        L = []
        L.append("# detour benchmark results")
        L.append("")
        L.append(f"- command: `{a.command}`")
        L.append(f"- date: {self.started:%Y-%m-%d %H:%M} – {self.finished:%H:%M} "
                 f"({(self.finished - self.started).total_seconds() / 60:.1f} min)")
        L.append(f"- machine: {platform.node()}, {os.cpu_count()} CPUs ({cpu_model()}), "
                 f"Linux {platform.release()}; load average before {self.load_before[0]:.2f}, "
                 f"after {self.load_after[0]:.2f}")
        L.append(f"- versions: {self.tools['versions']}")
        L.append(f"- runs: {a.rounds} round(s) per scenario, systems back to back in a rotating order; "
                 f"wrk {a.duration} s per run ({a.warmup} s warm-up before), {a.connections} connections; "
                 f"server on CPU {self.server_cpus}, wrk and backend on CPU {self.load_cpus} "
                 f"((g): everything on CPUs {self.both_cpus}); backend: tests/bench/benchtool.c "
                 f"({a.body_bytes}-byte GET body)")
        L.append(f"- syscalls: " + (
            f"`perf stat -e raw_syscalls:sys_enter` (and `syscalls:sys_enter_*` per syscall) over a "
            f"separate {a.syscall_duration} s run after the last measured round" if self.sys_method == "perf" else
            "`strace -c -f` over a separate short run after the last measured round" if self.sys_method == "strace"
            else "not measured (neither perf nor strace usable)"))
        L.append("- cells: median of the runs (min–max); ratios are detour ÷ peer of the medians. "
                 "**CPU µs/req** (the proxy's utime+stime over the measured window ÷ requests) is the "
                 "figure that decides; lower is better for every figure but req/s and MiB/s.")
        if self.load_before[0] > 0.5:
            L.append(f"- ⚠ the machine was not idle when the run started (load average "
                     f"{self.load_before[0]:.2f}): absolute figures and latencies are noisy; compare ratios.")
        for n in self.notes:
            L.append(f"- note: {n}")
        L.append("")
        L.append("| scenario | figure | detour | nginx | haproxy | detour/nginx | detour/haproxy |")
        L.append("|---|---|---|---|---|---|---|")

        def row(scen_label, fig, key, field, kind, values=None, sysvals=None):
            cells, meds = [], {}
            for s in SYSTEMS:
                if sysvals is not None:
                    v = sysvals.get(s)
                    vals = [v] if v is not None else []
                else:
                    vals = self.runs(key, s, field) if values is None else values(s)
                vals = [x for x in vals if x is not None]
                meds[s] = statistics.median(vals) if vals else None
                c = cell(vals, kind)
                if self.results.get(key, {}).get(s, {}).get("errors"):
                    c = (c + " ⚠" if c != "–" else "FAILED")
                cells.append(c if s in self.systems else "not run")
            L.append(f"| {scen_label} | {fig} | " + " | ".join(cells) + " | "
                     + f"{ratio(meds['detour'], meds['nginx'])} | {ratio(meds['detour'], meds['haproxy'])} |")

        def load_rows(key):
            t = TITLES[key]
            row(t, "req/s", key, "rps", "rps")
            row("", "p50 latency µs", key, "p50_us", "us")
            row("", "p99 latency µs", key, "p99_us", "us")
            row("", "**CPU µs/req**", key, "cpu_us_per_req", "cpu")
            row("", "of which user space", key, "user_us_per_req", "cpu")
            row("", "syscalls/req", key, None, "sys", sysvals={s: self.sysc(key, s, 1) for s in SYSTEMS})
            row("", "peak RSS MiB", key, None, "mib",
                values=lambda s: [x / 1024 for x in self.runs(key, s, "hwm_kib") if x])

        for key in a.scenarios:
            if key in "abc":
                load_rows(key)
            elif key == "d":
                t = TITLES["d"].replace("1 GiB", f"{a.upload_mib} MiB" if a.upload_mib != 1024 else "1 GiB")
                row(t, "throughput MiB/s", "d", "mib_s", "mibs")
                row("", "**CPU ms/GiB**", "d", "cpu_ms_per_gib", "ms")
                row("", "peak RSS MiB", "d", None, "mib",
                    values=lambda s: [x / 1024 for x in self.runs("d", s, "hwm_kib") if x])
                row("", "syscalls/MiB", "d", None, "sys", sysvals={s: self.sysc("d", s, 1) for s in SYSTEMS})
            elif key == "e":
                row(TITLES["e"].replace("idle", f"{a.idle:,} idle"), "**RSS KiB/conn**", "e", "kib_per_conn", "kib")
                row("", "RSS MiB with them open", "e", None, "mib",
                    values=lambda s: [x / 1024 for x in self.runs("e", s, "rss_after_kib") if x])
            elif key == "g":
                load_rows("ga")
                load_rows("gb")
        L.append("")

        if "f" in a.scenarios and "detour" in self.systems:
            small, big = self.f_labels
            L.append(f"### {TITLES['f']}")
            L.append("")
            L.append(f"| figure | {small} | {big} | {a.rules:,} ÷ 10 |")
            L.append("|---|---|---|---|")
            for fig, field, kind in (("req/s", "rps", "rps"), ("p50 latency µs", "p50_us", "us"),
                                     ("p99 latency µs", "p99_us", "us"),
                                     ("**CPU µs/req**", "cpu_us_per_req", "cpu")):
                vs, vb = self.runs("f", small, field), self.runs("f", big, field)
                L.append(f"| {fig} | {cell(vs, kind)} | {cell(vb, kind)} | {ratio(med(vb), med(vs))} |")
            ss, sb = self.sysc("f", small, 1), self.sysc("f", big, 1)
            L.append(f"| syscalls/req | {fmt_num(ss, 'sys')} | {fmt_num(sb, 'sys')} | {ratio(sb, ss)} |")
            hs = [x / 1024 for x in self.runs("f", small, "hwm_kib") if x]
            hb = [x / 1024 for x in self.runs("f", big, "hwm_kib") if x]
            L.append(f"| peak RSS MiB | {cell(hs, 'mib')} | {cell(hb, 'mib')} | {ratio(med(hb), med(hs))} |")
            L.append("")

        if "g" in a.scenarios:
            L.append("### (g) 2 workers ÷ 1 worker, per system (same run)")
            L.append("")
            L.append("| scenario | figure | detour | nginx | haproxy |")
            L.append("|---|---|---|---|---|")
            for one, two in (("a", "ga"), ("b", "gb")):
                if one not in a.scenarios:
                    L.append(f"| {TITLES[two]} | – | (run scenario {one} too for this ratio) | | |")
                    continue
                for fig, field in (("req/s", "rps"), ("CPU µs/req", "cpu_us_per_req")):
                    cells = [ratio(med(self.runs(two, s, field)), med(self.runs(one, s, field)))
                             for s in SYSTEMS]
                    L.append(f"| {TITLES[two]} | {fig} | " + " | ".join(cells) + " |")
            L.append("")

        L.append("### Design targets (docs/design.md), for reading the table; nothing here is asserted")
        L.append("")
        L.append("| scenario | target |")
        L.append("|---|---|")
        for k in a.scenarios:
            L.append(f"| ({k}) | {TARGETS[k]} |")
        L.append("")

        # syscall breakdown: where the syscalls per request go
        if self.sys_method:
            L.append("### Syscalls per request (per MiB for (d)), by syscall")
            L.append("")
            L.append("| scenario | system | total | breakdown |")
            L.append("|---|---|---|---|")
            for key in [k for k in ("a", "b", "c", "d", "f", "ga", "gb") if k in self.results]:
                for label, r in self.results[key].items():
                    sc = r.get("syscalls")
                    if not sc or not sc["units"]:
                        continue
                    u = sc["units"]
                    parts = sorted(sc["per"].items(), key=lambda kv: -kv[1])
                    shown = [f"{name} {cnt / u:.2f}" for name, cnt in parts if cnt / u >= 0.01][:8]
                    other = sc["total"] - sum(c for _, c in parts)
                    if sc["method"] == "perf" and other / u >= 0.01:
                        shown.append(f"other {other / u:.2f}")
                    L.append(f"| {key} | {label} | {sc['total'] / u:.2f} | {', '.join(shown)} |")
            L.append("")

        # cross-check of the tick-based CPU figure
        odd = []
        for key, per in self.results.items():
            for label, r in per.items():
                for run in r["runs"]:
                    a_, b_ = run.get("cpu_us_per_req"), run.get("sched_us_per_req")
                    if a_ and b_ and abs(a_ - b_) / b_ > 0.15:
                        odd.append(f"{key}/{label} round {run['round'] + 1}: utime+stime {a_:.2f} µs/req, "
                                   f"schedstat {b_:.2f} µs/req")
        if odd:
            L.append("### Cross-check: utime+stime vs schedstat differ by more than 15%")
            L.append("")
            for o in odd:
                L.append(f"- {o}")
            L.append("")

        if self.errors:
            L.append("### Failures")
            L.append("")
            for e in self.errors:
                L.append(f"- {e}")
            L.append("")
        return "\n".join(L)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def versions(tools):
    def first_line(cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (p.stdout + p.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"
    v = [first_line([tools["detour"], "--version"]),
         first_line([tools["nginx"], "-v"]).replace("nginx version: ", ""),
         " ".join(first_line([tools["haproxy"], "-v"]).split()[:3]),
         " ".join(first_line([tools["wrk"], "-v"]).split()[:2])]
    return ", ".join(v)


def main():
    ap = argparse.ArgumentParser(description="detour vs nginx vs HAProxy (see tests/bench/README.md)")
    ap.add_argument("--detour", required=True, help="the detour binary")
    ap.add_argument("--out", required=True, help="the Markdown table to write (JSON goes beside it)")
    ap.add_argument("--quick", action="store_true", help="each scenario ~2 s once (CI smoke)")
    ap.add_argument("--scenarios", default=ALL_SCENARIOS, help="e.g. a,b,d (default: all)")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="subset of detour,nginx,haproxy")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--duration", type=int, help="seconds of wrk per measured run (wrk takes whole seconds)")
    ap.add_argument("--warmup", type=int, help="seconds of wrk before each measured run")
    ap.add_argument("--syscall-duration", type=int, help="seconds of the run whose syscalls are counted")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--upload-mib", type=int)
    ap.add_argument("--idle", type=int, help="idle connections in (e)")
    ap.add_argument("--rules", type=int, default=10000, help="size of the big table in (f)")
    ap.add_argument("--body-bytes", type=int, default=64, help="the backend's GET body")
    ap.add_argument("--command", default=" ".join(sys.argv), help=argparse.SUPPRESS)
    a = ap.parse_args()
    q = a.quick
    a.rounds = a.rounds or (1 if q else 3)
    a.duration = a.duration or (2 if q else 8)
    a.warmup = a.warmup if a.warmup is not None else (0 if q else 1)
    a.syscall_duration = a.syscall_duration or (1 if q else 2)
    a.upload_mib = a.upload_mib or (256 if q else 1024)
    a.idle = a.idle or (2000 if q else 10000)
    scen = [s for s in re.split(r"[,\s]+", a.scenarios.lower()) if s]
    if len(scen) == 1 and len(scen[0]) > 1 and set(scen[0]) <= set(ALL_SCENARIOS):
        scen = list(scen[0])
    bad = [s for s in scen if s not in ALL_SCENARIOS]
    if bad:
        ap.error(f"unknown scenario(s) {bad}: choose from {','.join(ALL_SCENARIOS)}")
    a.scenarios = [s for s in ALL_SCENARIOS if s in scen]
    a.systems = [s for s in re.split(r"[,\s]+", a.systems) if s]
    if set(a.systems) - set(SYSTEMS):
        ap.error(f"unknown system(s) {set(a.systems) - set(SYSTEMS)}")

    tools = {"detour": os.path.abspath(a.detour)}
    for t in ("nginx", "haproxy", "wrk", "taskset", "gcc"):
        path = shutil.which(t) or (f"/usr/sbin/{t}" if os.path.exists(f"/usr/sbin/{t}") else None)
        if not path:
            log(f"{t} is missing (run.sh installs it)")
            return 2
        tools[t] = path
    import pwd
    tools["user"] = pwd.getpwuid(os.geteuid()).pw_name
    import resource
    tools["nofile"] = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if "e" in a.scenarios and tools["nofile"] < a.idle + 1024:
        log(f"open files limit {tools['nofile']} is too low for {a.idle} connections (run.sh raises it)")
        return 2

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    atexit.register(PROCS.stop_all)

    build = tempfile.mkdtemp(prefix="detour-benchtool-")
    atexit.register(shutil.rmtree, build, True)
    tools["benchtool"] = os.path.join(build, "benchtool")
    p = subprocess.run([tools["gcc"], "-O2", "-o", tools["benchtool"], os.path.join(HERE, "benchtool.c")],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        log(f"could not build benchtool.c:\n{p.stderr}")
        return 2
    tools["versions"] = versions(tools)

    bench = Bench(a, tools)
    if not bench.sys_method:
        log("neither perf nor strace can count syscalls here: syscall figures are left out")
    else:
        log(f"syscalls counted with {bench.sys_method}")
    try:
        bench.run()
    except HarnessError as e:
        log(f"harness error: {e}")
        return 2
    finally:
        PROCS.stop_all()
    text = bench.report()
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(text + "\n")
    with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
        json.dump({"args": {k: v for k, v in vars(a).items()}, "versions": tools["versions"],
                   "results": bench.results, "errors": bench.errors}, f, indent=1, default=str)
    print(text)
    log(f"table written to {a.out}")
    return 1 if bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
