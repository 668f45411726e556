"""Client of a REAL etcd (Debian's etcd 3.4) through its v3 JSON gateway (POST /v3/kv/range, …),
over TLS with a client certificate, as kube-apiserver and kubeadm reach etcd. Keys and values are
base64 in the gateway's JSON; int64 fields come back as strings; false booleans are omitted."""
from __future__ import annotations

import base64
import http.client
import json
import queue
import ssl
import urllib.parse


class EtcdError(Exception):
    def __init__(self, message: str, unavailable: bool = False):
        super().__init__(message)
        self.unavailable = unavailable


def b64(data: str | bytes) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def unb64(data: str) -> bytes:
    return base64.b64decode(data)


def prefix_end(prefix: str) -> str:
    """The range_end that selects every key starting with prefix (last byte + 1)."""
    raw = bytearray(prefix.encode())
    raw[-1] += 1
    return b64(bytes(raw))


class Etcd:
    def __init__(self, endpoints: list[str], ca: str, cert: str, key: str, timeout: float = 3.0):
        if not endpoints:
            raise EtcdError("no etcd endpoints", unavailable=True)
        self.endpoints = [urllib.parse.urlsplit(e) for e in endpoints]
        self.timeout = timeout
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.load_cert_chain(cert, key)
        self._pool: dict[str, queue.SimpleQueue] = {e.netloc: queue.SimpleQueue() for e in self.endpoints}
        self._preferred = 0

    def _conn(self, netloc: str) -> http.client.HTTPSConnection:
        try:
            return self._pool[netloc].get_nowait()
        except queue.Empty:
            host, _, port = netloc.rpartition(":")
            return http.client.HTTPSConnection(host, int(port), context=self.ctx, timeout=self.timeout)

    def post(self, path: str, body: dict, timeout: float | None = None) -> dict:
        """POST to the first endpoint that answers (the last one that did first); etcd's own errors
        (HTTP 4xx/5xx with a message) are raised as they are, not retried elsewhere."""
        data = json.dumps(body).encode()
        order = self.endpoints[self._preferred:] + self.endpoints[: self._preferred]
        last = "no endpoint answered"
        for i, ep in enumerate(order):
            conn = self._conn(ep.netloc)
            try:
                conn.timeout = timeout or self.timeout
                if conn.sock is not None:
                    conn.sock.settimeout(conn.timeout)
                conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                raw = r.read()
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                last = f"dial {ep.netloc}: {e}"
                continue
            self._pool[ep.netloc].put(conn)
            self._preferred = (self._preferred + i) % len(self.endpoints)
            reply = json.loads(raw or b"{}")
            if r.status != 200:
                msg = reply.get("message") or reply.get("error") or f"HTTP {r.status}"
                # "etcdserver: request timed out" / "no leader": the cluster, not the request
                raise EtcdError(msg, unavailable=r.status in (503, 504) or "timed out" in msg or "leader" in msg)
            return reply
        raise EtcdError(f"context deadline exceeded ({last})", unavailable=True)

    # -- kv ---------------------------------------------------------------------------------
    def get(self, key: str, serializable: bool = False) -> tuple[bytes | None, int, int]:
        """(value, mod_revision, store revision); value None when the key does not exist."""
        r = self.post("/v3/kv/range", {"key": b64(key), "serializable": serializable})
        rev = int(r["header"].get("revision", 0))
        kvs = r.get("kvs") or []
        if not kvs:
            return None, 0, rev
        return unb64(kvs[0].get("value", "")), int(kvs[0]["mod_revision"]), rev

    def list(self, prefix: str, serializable: bool = False) -> tuple[list[tuple[str, bytes, int]], int]:
        """Every key under prefix; serializable: this member's own copy, answered without a quorum."""
        r = self.post("/v3/kv/range", {"key": b64(prefix), "range_end": prefix_end(prefix), "serializable": serializable},
                      timeout=1.0 if serializable else None)
        items = [(unb64(kv["key"]).decode(), unb64(kv.get("value", "")), int(kv["mod_revision"])) for kv in r.get("kvs") or []]
        return items, int(r["header"].get("revision", 0))

    def create(self, key: str, value: bytes) -> int | None:
        """Put only if the key does not exist: the new revision, or None if it exists."""
        return self._txn_put(key, value, {"target": "CREATE", "key": b64(key), "result": "EQUAL", "create_revision": "0"})

    def update(self, key: str, value: bytes, mod_revision: int) -> int | None:
        """Put only if the key is still at mod_revision: the new revision, or None (conflict)."""
        return self._txn_put(key, value, {"target": "MOD", "key": b64(key), "result": "EQUAL", "mod_revision": str(mod_revision)})

    def _txn_put(self, key: str, value: bytes, compare: dict) -> int | None:
        r = self.post("/v3/kv/txn", {"compare": [compare], "success": [{"request_put": {"key": b64(key), "value": b64(value)}}]})
        return int(r["header"]["revision"]) if r.get("succeeded") else None

    def delete(self, key: str, mod_revision: int | None = None) -> bool:
        """Delete (only if still at mod_revision when given): whether a key was deleted."""
        op = {"request_delete_range": {"key": b64(key)}}
        if mod_revision is None:
            r = self.post("/v3/kv/deleterange", {"key": b64(key)})
            return int(r.get("deleted", 0)) > 0
        r = self.post("/v3/kv/txn", {"compare": [{"target": "MOD", "key": b64(key), "result": "EQUAL", "mod_revision": str(mod_revision)}], "success": [op]})
        return bool(r.get("succeeded"))

    # -- cluster ----------------------------------------------------------------------------
    def members(self) -> list[dict]:
        return self.post("/v3/cluster/member/list", {}).get("members", [])

    def member_add(self, peer_url: str, learner: bool) -> tuple[dict, list[dict]]:
        r = self.post("/v3/cluster/member/add", {"peerURLs": [peer_url], "isLearner": learner}, timeout=10)
        return r["member"], r.get("members", [])

    def member_promote(self, member_id: str) -> None:
        self.post("/v3/cluster/member/promote", {"ID": member_id}, timeout=10)

    def member_remove(self, member_id: str) -> None:
        self.post("/v3/cluster/member/remove", {"ID": member_id}, timeout=10)

    def healthy(self, timeout: float = 2.0) -> bool:
        """A linearizable read (needs a quorum), as kube-apiserver's etcd health check does."""
        try:
            self.post("/v3/kv/range", {"key": b64("health")}, timeout=timeout)
            return True
        except EtcdError:
            return False
