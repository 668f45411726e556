"""kubeadm's preflight checks, with its names and messages; --ignore-preflight-errors honoured."""
import os
import socket

from . import paths
from .errors import KubeadmError


def _content(path: str, want: str, name: str) -> list[tuple[str, str]]:
    try:
        with open(path) as f:
            ok = f.read().strip() == want
    except OSError:
        return [(name, f"{path} does not exist")]
    return [] if ok else [(name, f"{path} contents are not set to {want}")]


def _port_free(port: int) -> bool:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("0.0.0.0", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def run(kind: str, bind_port: int, endpoint: str | None, ignore: list[str], local_etcd: bool = False) -> None:
    """kind: init | join-control-plane | join-worker | control-plane-prepare (the checks a joining
    control plane runs once the cluster's configuration is read); local_etcd: a stacked member."""
    errors: list[tuple[str, str]] = []
    if kind == "control-plane-prepare":
        errors += _control_plane(bind_port, local_etcd)
        return _report(errors, ignore)
    errors += _content(f"{paths.PROC_SYS}/net/ipv4/ip_forward", "1", "FileContent--proc-sys-net-ipv4-ip_forward")
    errors += _content(f"{paths.PROC_SYS}/net/bridge/bridge-nf-call-iptables", "1", "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables")
    try:
        with open("/proc/swaps") as f:
            if len(f.read().strip().splitlines()) > 1:
                errors.append(("Swap", "running with swap on is not supported. Please disable swap"))
    except OSError:
        pass
    if kind in ("init", "join-control-plane"):
        errors += _control_plane(bind_port, local_etcd)
    # Only kubeadm's own manifests are checked (FileAvailable-- above), not the whole directory:
    # kubernetes/kubernetes#57287 (2017). A kube-vip manifest placed before init is fine.
    if kind.startswith("join") and os.path.exists(f"{paths.K8S}/kubelet.conf"):
        errors.append(("FileAvailable--etc-kubernetes-kubelet.conf", "/etc/kubernetes/kubelet.conf already exists"))
    if endpoint:
        host = endpoint.rsplit(":", 1)[0].strip("[]")
        try:
            socket.getaddrinfo(host, None)
        except socket.gaierror:
            errors.append(("ControlPlaneEndpoint", f'unable to resolve control-plane endpoint "{endpoint}"'))
    _report(errors, ignore)


def _control_plane(bind_port: int, local_etcd: bool) -> list[tuple[str, str]]:
    errors = []
    if not _port_free(bind_port):
        errors.append((f"Port-{bind_port}", f"Port {bind_port} is in use"))
    for f in paths.STATIC_PODS:
        if os.path.exists(f"{paths.MANIFESTS}/{f}"):
            errors.append((f"FileAvailable--etc-kubernetes-manifests-{f}", f"/etc/kubernetes/manifests/{f} already exists"))
    if local_etcd:
        for port in (2379, 2380):
            if not _port_free(port):
                errors.append((f"Port-{port}", f"Port {port} is in use"))
        if os.path.isdir(paths.ETCD_DATA) and os.listdir(paths.ETCD_DATA):
            errors.append(("DirAvailable--var-lib-etcd", "/var/lib/etcd is not empty"))
    return errors


def _report(errors: list[tuple[str, str]], ignore: list[str]) -> None:
    ignored = {i.lower() for i in ignore}
    fatal = [(n, m) for n, m in errors if "all" not in ignored and n.lower() not in ignored]
    for n, m in errors:
        if (n, m) not in fatal:
            print(f"\t[WARNING {n}]: {m}")
    if fatal:
        lines = "\n".join(f"\t[ERROR {n}]: {m}" for n, m in fatal)
        raise KubeadmError(
            f"error execution phase preflight: [preflight] Some fatal errors occurred:\n{lines}\n"
            "[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\n"
            "To see the stack trace of this error execute with --v=5 or higher"
        )
