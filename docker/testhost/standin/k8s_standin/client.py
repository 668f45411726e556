"""HTTPS client for the API server stand-in: kubectl, kubeadm token/upload-certs and peer replication."""
import base64
import json
import os
import ssl
import tempfile
import urllib.error
import urllib.request

import yaml


class ApiError(Exception):
    pass


def from_kubeconfig(path: str) -> "Client":
    try:
        with open(path) as f:
            cfg = yaml.safe_load(f)
    except FileNotFoundError:
        raise ApiError(f"error: stat {path}: no such file or directory")
    cluster = cfg["clusters"][0]["cluster"]
    user = cfg["users"][0]["user"]
    return Client(cluster["server"], base64.b64decode(cluster["certificate-authority-data"]),
                  base64.b64decode(user["client-certificate-data"]), base64.b64decode(user["client-key-data"]))


class Client:
    def __init__(self, server: str, ca: bytes | None, cert: bytes | None = None, key: bytes | None = None, timeout: float = 10):
        self.server = server.rstrip("/")
        self.timeout = timeout
        if ca is None:
            self.ctx = ssl._create_unverified_context()
        else:
            self.ctx = ssl.create_default_context(cadata=ca.decode())
        if cert and key:
            self._tmp = tempfile.TemporaryDirectory()
            c, k = os.path.join(self._tmp.name, "c"), os.path.join(self._tmp.name, "k")
            with open(c, "wb") as f:
                f.write(cert)
            with open(k, "wb") as f:
                f.write(key)
            self.ctx.load_cert_chain(c, k)

    def call(self, method: str, path: str, body: object | None = None, headers: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=self.timeout) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            try:
                detail = json.loads(detail).get("message", detail)
            except ValueError:
                pass
            raise ApiError(detail) from e
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise ApiError(f'Get "{self.server}{path}": dial tcp {self.server.split("://")[1]}: {reason}') from e
        return json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode()
