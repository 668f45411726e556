"""File locations. HAPROV_STANDIN_ROOT moves everything under a directory (for unit tests)."""
import os

ROOT = os.environ.get("HAPROV_STANDIN_ROOT", "")


def p(path: str) -> str:
    return ROOT + path


K8S = p("/etc/kubernetes")
PKI = p("/etc/kubernetes/pki")
MANIFESTS = p("/etc/kubernetes/manifests")
ETCD_DATA = p("/var/lib/etcd")
STATE_DIR = p("/var/lib/haprov-standin")
STATE = p("/var/lib/haprov-standin/cluster.json")
NODE = p("/var/lib/haprov-standin/node.json")
PROC_SYS = os.environ.get("HAPROV_STANDIN_PROC_SYS", "/proc/sys")

SHARED_PKI = ["ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.crt", "front-proxy-ca.key", "etcd/ca.crt", "etcd/ca.key"]


def shared_pki(local_etcd: bool = True) -> list[str]:
    """What joining control-plane nodes must share (REFERENCE.md §0.3): without etcd/ca.key when
    etcd is external (the etcd CA's key stays with whoever runs etcd)."""
    return SHARED_PKI if local_etcd else [n for n in SHARED_PKI if n != "etcd/ca.key"]
KUBECONFIGS = ["admin.conf", "super-admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf"]
STATIC_PODS = ["kube-apiserver.yaml", "kube-controller-manager.yaml", "kube-scheduler.yaml", "etcd.yaml"]
