#!/usr/bin/python3
"""Checks that detour's Kubernetes manifests parse and agree with the binary and the image.

Usage: docker/k8s/check-manifests.py DETOUR_BINARY [K8S_DIR]

What it checks (each line of output is one check; exit 1 if any fails):
  - kustomization.yaml lists every manifest in the folder, and each parses as a Kubernetes object;
  - the ConfigMap's detour.yaml passes `detour check --strict` and its cases.yaml passes
    `detour test` (both run with DETOUR_BINARY on the extracted files);
  - the Deployment mounts the whole ConfigMap folder (no subPath, so updates reach the file watch)
    where `detour run -c` reads it; its container ports are the config's listen and admin ports;
    readiness is GET /readyz and liveness GET /healthz on the admin port; the Prometheus
    annotations name the admin port and /metrics; terminationGracePeriodSeconds exceeds the
    preStop pause plus server.timeouts.drain; it runs as the image's non-root USER; it requests
    CPU (the HPA's utilisation needs it) and leaves `replicas` to the HPA;
  - the Service selects the pods and targets a traffic port (not the admin port);
  - the HorizontalPodAutoscaler scales this Deployment; the PodDisruptionBudget selects the pods and
    leaves room for a drain;
  - the image (docker/Dockerfile) EXPOSEs the ports of its default config (docker/detour.yaml), which
    passes `detour check --strict`, and its HEALTHCHECK's default address is that admin port.
Needs only python3 and python3-yaml (Debian packages).
"""

import os
import re
import subprocess
import sys
import tempfile

import yaml

failures = []


def ok(msg):
    print(f"ok: {msg}")


def fail(msg):
    print(f"FAIL: {msg}")
    failures.append(msg)


def check(cond, good, bad):
    if cond:
        ok(good)
    else:
        fail(bad)
    return cond


def duration_seconds(text):
    """detour's durations: 500ms, 10s, 2m, 1h."""
    m = re.fullmatch(r"\s*(\d+)\s*(ms|s|m|h)\s*", str(text))
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    n, unit = int(m.group(1)), m.group(2)
    return n * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def split_address(addr):
    host, _, port = str(addr).rpartition(":")
    return host.strip("[]"), int(port)


def listen_addresses(cfg):
    out = []
    for item in (cfg.get("server") or {}).get("listen") or []:
        out.append(split_address(item["address"] if isinstance(item, dict) else item))
    return out


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    return p.returncode, p.stdout.strip()


def resolve_port(port, container):
    """A probe's or Service's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return p.get("containerPort")
    return None


def labels_select(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def dockerfile_facts(path):
    text = open(path).read().replace("\\\n", " ")
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    exposes = [int(p.split("/")[0]) for line in re.findall(r"^EXPOSE\s+(.+)$", text, re.M)
               for p in line.split()]
    healthcheck = re.findall(r"^HEALTHCHECK\s+(.+)$", text, re.M)
    return (users[-1] if users else None), exposes, (healthcheck[-1] if healthcheck else None)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    detour = os.path.abspath(sys.argv[1])
    k8s_dir = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(__file__))
    docker_dir = os.path.dirname(k8s_dir)
    if not os.access(detour, os.X_OK):
        sys.exit(f"check-manifests: {detour} is not an executable detour binary")

    # ---- parse ----
    kustomization = yaml.safe_load(open(os.path.join(k8s_dir, "kustomization.yaml")))
    resources = kustomization.get("resources") or []
    on_disk = sorted(f for f in os.listdir(k8s_dir)
                     if f.endswith((".yaml", ".yml")) and f != "kustomization.yaml")
    check(sorted(resources) == on_disk, f"kustomization.yaml lists {', '.join(resources)}",
          f"kustomization.yaml resources {sorted(resources)} != the manifests in the folder {on_disk}")
    objects = {}
    for name in resources:
        path = os.path.join(k8s_dir, name)
        if not os.path.exists(path):
            fail(f"{name}: listed in kustomization.yaml but missing")
            continue
        for doc in yaml.safe_load_all(open(path)):
            if doc is None:
                continue
            good = all(doc.get(k) for k in ("apiVersion", "kind")) and (doc.get("metadata") or {}).get("name")
            if not check(good, f"{name}: {doc.get('kind')}/{(doc.get('metadata') or {}).get('name')} parses",
                         f"{name}: an object without apiVersion, kind or metadata.name"):
                continue
            objects.setdefault(doc["kind"], []).append(doc)
    for kind in ("ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler"):
        if len(objects.get(kind, [])) != 1:
            fail(f"want exactly one {kind}, found {len(objects.get(kind, []))}")
    if failures:
        return 1
    cm, dep = objects["ConfigMap"][0], objects["Deployment"][0]
    svc, hpa = objects["Service"][0], objects["HorizontalPodAutoscaler"][0]

    # ---- the ConfigMap's config, through the binary ----
    data = cm.get("data") or {}
    if "detour.yaml" not in data:
        fail("the ConfigMap has no detour.yaml key")
        return 1
    tmp = tempfile.mkdtemp(prefix="detour-k8s-")
    cfg_path = os.path.join(tmp, "detour.yaml")
    for key, value in data.items():
        with open(os.path.join(tmp, key), "w") as f:
            f.write(value)
    rc, out = run([detour, "check", "--strict", "-c", cfg_path])
    check(rc == 0, f"ConfigMap detour.yaml: detour check --strict: {out}",
          f"ConfigMap detour.yaml fails `detour check --strict` (exit {rc}):\n{out}")
    if "cases.yaml" in data:
        rc, out = run([detour, "test", "-c", cfg_path, os.path.join(tmp, "cases.yaml")])
        check(rc == 0, f"ConfigMap cases.yaml: detour test: {out.splitlines()[-1] if out else ''}",
              f"ConfigMap cases.yaml fails `detour test` (exit {rc}):\n{out}")
    cfg = yaml.safe_load(data["detour.yaml"])
    listens = listen_addresses(cfg)
    listen_ports = {p for _, p in listens}
    admin_listen = (cfg.get("admin") or {}).get("listen")
    if not admin_listen:
        fail("the ConfigMap's config has no admin.listen: no probes, no metrics")
        return 1
    admin_host, admin_port = split_address(admin_listen)
    drain = duration_seconds(((cfg.get("server") or {}).get("timeouts") or {}).get("drain", "30s"))
    any_host = ("0.0.0.0", "::", "")
    check(admin_host in any_host, f"admin.listen {admin_listen} is reachable on the pod IP",
          f"admin.listen {admin_listen}: the kubelet's probes and Prometheus come to the pod IP; listen on 0.0.0.0")
    for host, port in listens:
        check(host in any_host, f"server.listen :{port} is reachable on the pod IP",
              f"server.listen {host}:{port} is not reachable on the pod IP; listen on 0.0.0.0")
    check(admin_port not in listen_ports, "admin and traffic ports differ",
          f"admin port {admin_port} is also a traffic port")
    access = (cfg.get("log") or {}).get("access")
    if isinstance(access, dict):
        check(access.get("path", "stdout") in ("stdout", "stderr"),
              "access log on stdout (the root filesystem is read-only)",
              f"access log path {access.get('path')!r}: the root filesystem is read-only; use stdout")

    # ---- the Deployment ----
    spec = dep["spec"]
    tmpl = spec["template"]
    pod = tmpl["spec"]
    pod_labels = (tmpl.get("metadata") or {}).get("labels") or {}
    check(labels_select((spec.get("selector") or {}).get("matchLabels"), pod_labels),
          "Deployment selector matches its pod labels", "Deployment selector does not match its pod labels")
    containers = pod.get("containers") or []
    if not containers:
        fail("the Deployment has no container")
        return 1
    c = containers[0]
    argv = (c.get("command") or []) + (c.get("args") or [])
    cfg_arg = argv[argv.index("-c") + 1] if "-c" in argv[:-1] else None
    check("run" in argv and cfg_arg, f"container runs `{' '.join(argv)}`",
          f"container arguments {argv} are not `run -c FILE`")
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    cm_mount = None
    for m in c.get("volumeMounts") or []:
        v = volumes.get(m["name"]) or {}
        if (v.get("configMap") or {}).get("name") == cm["metadata"]["name"]:
            cm_mount = m
    if check(cm_mount is not None, f"ConfigMap {cm['metadata']['name']} is mounted",
             f"ConfigMap {cm['metadata']['name']} is not mounted in the container"):
        check("subPath" not in cm_mount and "subPathExpr" not in cm_mount,
              "the ConfigMap is mounted as a folder (updates reach the file watch)",
              "the ConfigMap is mounted with subPath: the kubelet never updates such a file; mount the folder")
        items = (volumes[cm_mount["name"]]["configMap"].get("items") or [])
        file_in_mount = {i["path"]: i["key"] for i in items} if items else {k: k for k in data}
        want = os.path.join(cm_mount["mountPath"], "")
        rel = cfg_arg[len(want):] if cfg_arg and cfg_arg.startswith(want) else None
        check(rel is not None and file_in_mount.get(rel) == "detour.yaml",
              f"-c {cfg_arg} is the ConfigMap's detour.yaml",
              f"-c {cfg_arg} is not the ConfigMap's detour.yaml under {cm_mount['mountPath']}")
    ports = {p.get("containerPort") for p in c.get("ports") or []}
    check(listen_ports <= ports, f"containerPorts include the listen ports {sorted(listen_ports)}",
          f"containerPorts {sorted(ports)} lack a listen port of {sorted(listen_ports)}")
    check(admin_port in ports, f"containerPorts include the admin port {admin_port}",
          f"containerPorts {sorted(ports)} lack the admin port {admin_port}")
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = (c.get(probe) or {}).get("httpGet") or {}
        port = resolve_port(get.get("port"), c)
        check(get.get("path") == path and port == admin_port,
              f"{probe}: GET {path} on the admin port {admin_port}",
              f"{probe}: want GET {path} on the admin port {admin_port}, got {get.get('path')} on {get.get('port')} ({port})")
    prestop = ((c.get("lifecycle") or {}).get("preStop") or {})
    pause = 0
    if "sleep" in prestop:
        pause = int(prestop["sleep"].get("seconds", 0))
    elif "exec" in prestop:
        cmd = prestop["exec"].get("command") or []
        if len(cmd) == 2 and os.path.basename(cmd[0]) == "sleep":
            pause = duration_seconds(cmd[1] + ("" if cmd[1][-1:].isalpha() else "s"))
    grace = pod.get("terminationGracePeriodSeconds", 30)
    check(grace > pause + drain,
          f"terminationGracePeriodSeconds {grace} > preStop {pause:g} s + drain {drain:g} s",
          f"terminationGracePeriodSeconds {grace} <= preStop {pause:g} s + drain {drain:g} s: the kubelet would SIGKILL the drain")
    ann = (tmpl.get("metadata") or {}).get("annotations") or {}
    check(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == str(admin_port)
          and ann.get("prometheus.io/path", "/metrics") == "/metrics",
          f"Prometheus annotations: scrape :{admin_port}/metrics",
          f"Prometheus annotations {ann} do not point at :{admin_port}/metrics")
    requests = ((c.get("resources") or {}).get("requests") or {})
    check("cpu" in requests, f"requests.cpu {requests.get('cpu')}", "no requests.cpu: the HPA's utilisation needs it")
    check("replicas" not in spec, "replicas left to the HPA",
          f"Deployment sets replicas: {spec.get('replicas')}: every apply would override the HPA")

    user, exposes, healthcheck = dockerfile_facts(os.path.join(docker_dir, "Dockerfile"))
    pod_sc, c_sc = pod.get("securityContext") or {}, c.get("securityContext") or {}
    run_as = c_sc.get("runAsUser", pod_sc.get("runAsUser"))
    non_root = c_sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
    image_uid = user.split(":")[0] if user else None
    check(non_root is True and image_uid and image_uid.isdigit() and image_uid != "0"
          and (run_as is None or str(run_as) == image_uid),
          f"runs as non-root uid {run_as if run_as is not None else image_uid} (the image's USER {user})",
          f"runAsNonRoot {non_root}, runAsUser {run_as} vs the image's USER {user}: want a numeric non-root USER and the same uid")

    # ---- Service, HPA, PDB ----
    check(labels_select((svc["spec"].get("selector") or {}), pod_labels),
          "Service selects the Deployment's pods", "Service selector does not match the pod labels")
    for p in svc["spec"].get("ports") or []:
        target = resolve_port(p.get("targetPort", p.get("port")), c)
        check(target in listen_ports,
              f"Service port {p.get('port')} -> {p.get('targetPort')} ({target}) is a listen port",
              f"Service port {p.get('port')} targets {p.get('targetPort')} ({target}), not a listen port {sorted(listen_ports)}")
    ref = hpa["spec"].get("scaleTargetRef") or {}
    check(ref.get("kind") == "Deployment" and ref.get("name") == dep["metadata"]["name"]
          and ref.get("apiVersion") == "apps/v1",
          f"HPA scales Deployment/{dep['metadata']['name']}", f"HPA scaleTargetRef {ref} is not this Deployment")
    lo, hi = hpa["spec"].get("minReplicas", 1), hpa["spec"].get("maxReplicas", 0)
    check(1 <= lo <= hi, f"HPA replicas {lo}..{hi}", f"HPA minReplicas {lo} / maxReplicas {hi}")
    for pdb in objects.get("PodDisruptionBudget", []):
        check(labels_select((pdb["spec"].get("selector") or {}).get("matchLabels"), pod_labels),
              "PodDisruptionBudget selects the pods", "PodDisruptionBudget selector does not match the pod labels")
        min_avail = pdb["spec"].get("minAvailable")
        if isinstance(min_avail, int):
            check(min_avail < lo, f"PodDisruptionBudget minAvailable {min_avail} < HPA minReplicas {lo}",
                  f"PodDisruptionBudget minAvailable {min_avail} >= minReplicas {lo}: node drains would block")

    # ---- the image's default config and metadata ----
    default_cfg = os.path.join(docker_dir, "detour.yaml")
    rc, out = run([detour, "check", "--strict", "-c", default_cfg])
    check(rc == 0, f"docker/detour.yaml: detour check --strict: {out}",
          f"docker/detour.yaml fails `detour check --strict` (exit {rc}):\n{out}")
    image_cfg = yaml.safe_load(open(default_cfg))
    image_ports = {p for _, p in listen_addresses(image_cfg)}
    image_admin = split_address(image_cfg["admin"]["listen"])[1]
    check(set(exposes) == image_ports | {image_admin},
          f"Dockerfile EXPOSE {' '.join(map(str, exposes))} = docker/detour.yaml's ports",
          f"Dockerfile EXPOSE {exposes} != docker/detour.yaml's listen {sorted(image_ports)} + admin {image_admin}")
    hc_script = open(os.path.join(docker_dir, "healthcheck.sh")).read()
    check(bool(healthcheck) and "/healthz" in healthcheck and f"127.0.0.1:{image_admin}" in hc_script,
          f"HEALTHCHECK GETs /healthz on 127.0.0.1:{image_admin} by default",
          f"HEALTHCHECK ({healthcheck}) or docker/healthcheck.sh's default address is not /healthz on :{image_admin}")

    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    os.rmdir(tmp)
    print(f"{'FAIL' if failures else 'PASS'}: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
