"""Cluster state (nodes, tokens, applied objects, uploaded certs), a JSON document kept by each API
server and pushed to the other control-plane members after every write: a stand-in for etcd."""
import fcntl
import json
import os
import secrets
import time
from contextlib import contextmanager

from . import paths

TOKEN_TTL = 24 * 3600
CERTS_TTL = 2 * 3600


def empty(endpoint: str, ca_hash: str) -> dict:
    return {"version": 0, "endpoint": endpoint, "caHash": ca_hash, "nodes": {}, "tokens": {}, "objects": {}, "certs": None, "members": []}


def read() -> dict | None:
    try:
        with open(paths.STATE) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def write(state: dict) -> None:
    os.makedirs(paths.STATE_DIR, exist_ok=True)
    tmp = f"{paths.STATE}.tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)
    os.chmod(tmp, 0o600)
    os.replace(tmp, paths.STATE)


@contextmanager
def locked():
    os.makedirs(paths.STATE_DIR, exist_ok=True)
    with open(f"{paths.STATE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def new_token() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(6)) + "." + "".join(secrets.choice(alphabet) for _ in range(16))


def add_token(state: dict, token: str, ttl: int = TOKEN_TTL) -> None:
    tid, secret = token.split(".")
    state["tokens"][tid] = {"secret": secret, "expires": time.time() + ttl}


def token_valid(state: dict, token: str) -> bool:
    try:
        tid, secret = token.split(".")
    except ValueError:
        return False
    t = state["tokens"].get(tid)
    return bool(t and t["secret"] == secret and t["expires"] > time.time())


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
