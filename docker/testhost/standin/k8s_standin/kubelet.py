"""kubelet stand-in: runs the static pods of /etc/kubernetes/manifests it can run — etcd (the REAL
etcd binary, with the manifest's command line), kube-apiserver (the stand-in, with its flags) and
kube-vip (the stand-in, with the pod's env, image, capabilities, hostAliases and kubeconfig volume) —
and restarts one when its manifest changes or its process dies, as the kubelet does. Each pod runs
in a transient systemd unit of its own (kubelet-pod-NAME.service), not in the kubelet's cgroup: as
with real containers, stopping the kubelet leaves the pods running, and a restarted kubelet adopts
them. Manifests of other components (controller-manager, scheduler) are read and not run: the
stand-in has no controllers. Idles when there are no manifests (a worker, or before init/join)."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

import yaml

from . import paths

RUNNABLE = {"etcd", "kube-apiserver", "kube-vip"}
STATE = "/run/haprov-standin/pods"
PYTHON_APISERVER = [sys.executable, "-m", "k8s_standin.apiserver"]
ETCD_BINARY = "/usr/bin/etcd"


def unit(name: str) -> str:
    return f"kubelet-pod-{name}.service"


def read_manifests() -> dict[str, tuple[list[str], str]]:
    """component → (command, sha256 of the manifest) for every runnable static pod. For kube-vip
    the "command" is the pod's settings as the stand-in takes them (pod_env)."""
    out = {}
    if not os.path.isdir(paths.MANIFESTS):
        return out
    for f in sorted(os.listdir(paths.MANIFESTS)):
        if not f.endswith((".yaml", ".yml", ".json")):
            continue
        try:
            with open(os.path.join(paths.MANIFESTS, f), "rb") as fh:
                raw = fh.read()
            pod = yaml.safe_load(raw)
            container = pod["spec"]["containers"][0]
            name = pod["metadata"]["name"]
        except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError) as e:
            print(f"kubelet: {f}: not a pod manifest: {e}", file=sys.stderr, flush=True)
            continue
        if name == "kube-vip":
            try:
                out[name] = (pod_env(pod), hashlib.sha256(raw).hexdigest())
            except PodStartError as e:
                print(f"kubelet: {name}: {e}", file=sys.stderr, flush=True)
        elif name in RUNNABLE:
            out[name] = (list(container.get("command") or []) + list(container.get("args") or []), hashlib.sha256(raw).hexdigest())
    return out


def _node_name() -> str:
    """The kubelet's node name: the one kubeadm registered, else the host name (as --hostname-override)."""
    try:
        with open(paths.NODE) as f:
            return json.load(f)["name"]
    except (OSError, ValueError, KeyError):
        return socket.gethostname()


def pod_env(pod: dict) -> list[str]:
    """`--setenv=` arguments for the kube-vip stand-in: the container's env (fieldRef spec.nodeName
    resolved as the kubelet resolves it), its image, capabilities, hostAliases, and the host path of
    every mounted volume (mountPath → hostPath; the one at /etc/kubernetes/admin.conf is the kubeconfig)."""
    spec = pod.get("spec") or {}
    c = (spec.get("containers") or [{}])[0]
    out = [f"KUBEVIP_STANDIN_IMAGE={c.get('image', '')}"]
    for e in c.get("env") or []:
        if "value" in e:
            value = str(e["value"])
        elif ((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath") == "spec.nodeName":
            value = _node_name()
        else:
            value = ""
        out.append(f"KUBEVIP_ENV_{e['name']}={value}")
    caps = ((c.get("securityContext") or {}).get("capabilities") or {}).get("add") or []
    out.append(f"KUBEVIP_STANDIN_CAPS={json.dumps(caps)}")
    aliases = {h: a["ip"] for a in spec.get("hostAliases") or [] for h in a.get("hostnames") or []}
    out.append(f"KUBEVIP_STANDIN_HOSTALIASES={json.dumps(aliases)}")
    volumes = {v.get("name"): (v.get("hostPath") or {}) for v in spec.get("volumes") or []}
    mounts = {}
    for m in c.get("volumeMounts") or []:
        hp = volumes.get(m.get("name"), {})
        # hostPath type File: the kubelet refuses to start the pod while the file is missing
        if hp.get("type") == "File" and not os.path.isfile(hp.get("path", "")):
            raise PodStartError(f'MountVolume.SetUp failed for volume "{m.get("name")}": hostPath type check failed: {hp.get("path")} is not a file')
        mounts[m.get("mountPath")] = hp.get("path", "")
    out.append(f"KUBEVIP_STANDIN_MOUNTS={json.dumps(mounts)}")
    out.append(f"KUBEVIP_STANDIN_KUBECONFIG={mounts.get('/etc/kubernetes/admin.conf', '')}")
    return out


class PodStartError(Exception):
    """The kubelet cannot start the pod yet (it retries with back-off)."""


def _active(name: str) -> bool:
    r = subprocess.run(["systemctl", "is-active", "--quiet", unit(name)])
    return r.returncode == 0


def _recorded(name: str) -> str:
    try:
        with open(f"{STATE}/{name}") as f:
            return f.read().strip()
    except OSError:
        return ""


def start(name: str, command: list[str], sha: str) -> None:
    if name == "etcd":
        argv = [ETCD_BINARY, *command[1:]]
        env = []
    elif name == "kube-vip":
        argv = [sys.executable, "-m", "k8s_standin.kube_vip"]
        env = ["--setenv=PYTHONPATH=/usr/local/lib/haprov-standin", "--setenv=PYTHONDONTWRITEBYTECODE=1",
               *[f"--setenv={kv}" for kv in command]]
    else:
        argv = [*PYTHON_APISERVER, *command[1:]]
        env = ["--setenv=PYTHONPATH=/usr/local/lib/haprov-standin", "--setenv=PYTHONDONTWRITEBYTECODE=1"]
    subprocess.run(["systemctl", "reset-failed", unit(name)], capture_output=True)
    r = subprocess.run(["systemd-run", "--quiet", "--collect", f"--unit={unit(name)}", "--property=KillMode=mixed", *env, "--", *argv],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"kubelet: starting {name}: {r.stderr.strip()}", file=sys.stderr, flush=True)
        return
    os.makedirs(STATE, exist_ok=True)
    with open(f"{STATE}/{name}", "w") as f:
        f.write(sha)
    print(f"kubelet: started static pod {name}", file=sys.stderr, flush=True)


def stop(name: str) -> None:
    subprocess.run(["systemctl", "stop", unit(name)], capture_output=True)
    try:
        os.remove(f"{STATE}/{name}")
    except OSError:
        pass


def stop_all() -> None:
    """kubeadm reset: the pods go with the node (crictl rm in the real reset)."""
    for name in RUNNABLE:
        stop(name)


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    backoff: dict[str, tuple[float, float]] = {}  # name → (next try, delay): CrashLoopBackOff
    while True:
        wanted = read_manifests()
        for name in RUNNABLE - set(wanted):
            if _recorded(name):
                print(f"kubelet: manifest of {name} removed: stopping it", file=sys.stderr, flush=True)
                stop(name)
        for name, (command, sha) in wanted.items():
            running = _active(name)
            if running and _recorded(name) == sha:
                backoff.pop(name, None)
                continue
            if running:
                print(f"kubelet: manifest of {name} changed: restarting it", file=sys.stderr, flush=True)
                stop(name)
            at, delay = backoff.get(name, (0.0, 0.5))
            if time.time() < at:
                continue
            start(name, command, sha)
            backoff[name] = (time.time() + delay, min(delay * 2, 10.0))
        time.sleep(1)
