"""What the stand-in keeps on a node besides /etc/kubernetes: which node this is (node.json), for
reset and the kubelet. Cluster state lives in etcd (store.py)."""
import json
import os
import secrets

from . import paths

TOKEN_TTL = 24 * 3600
CERTS_TTL = 2 * 3600


def new_token() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(6)) + "." + "".join(secrets.choice(alphabet) for _ in range(16))


def read_node() -> dict | None:
    try:
        with open(paths.NODE) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def write_node(node: dict) -> None:
    os.makedirs(paths.STATE_DIR, exist_ok=True)
    with open(paths.NODE, "w") as f:
        json.dump(node, f)
