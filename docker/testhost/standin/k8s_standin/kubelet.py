"""kubelet stand-in: runs the API server stand-in while the kube-apiserver static-pod manifest exists
(as the real kubelet runs the static pod), and idles otherwise (a worker, or before init/join)."""
import os
import time

from . import apiserver, paths


def main() -> int:
    while not os.path.exists(f"{paths.MANIFESTS}/kube-apiserver.yaml"):
        time.sleep(2)
    apiserver.serve()
    return 0
