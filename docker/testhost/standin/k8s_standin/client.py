"""HTTPS client of the API server stand-in, as kubeadm uses client-go: the server, CA and client
certificate of a kubeconfig, or a bootstrap token, or anonymous (CA pinned or not)."""
from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
import urllib.error
import urllib.request

import yaml


class ApiError(Exception):
    def __init__(self, message: str, code: int = 0, reason: str = ""):
        super().__init__(message)
        self.code, self.reason = code, reason


def from_kubeconfig(path: str, timeout: float = 10) -> "Client":
    try:
        with open(path) as f:
            cfg = yaml.safe_load(f)
    except FileNotFoundError:
        raise ApiError(f"error: stat {path}: no such file or directory")
    cluster = cfg["clusters"][0]["cluster"]
    user = cfg["users"][0]["user"]
    return Client(cluster["server"], base64.b64decode(cluster["certificate-authority-data"]),
                  base64.b64decode(user["client-certificate-data"]), base64.b64decode(user["client-key-data"]), timeout=timeout)


class Client:
    def __init__(self, server: str, ca: bytes | None, cert: bytes | None = None, key: bytes | None = None, timeout: float = 10,
                 token: str | None = None):
        self.server = server.rstrip("/")
        self.timeout = timeout
        self.token = token
        if ca is None:
            self.ctx = ssl._create_unverified_context()
        else:
            self.ctx = ssl.create_default_context(cadata=ca.decode())
        if cert and key:
            with tempfile.TemporaryDirectory() as d:
                c, k = os.path.join(d, "c"), os.path.join(d, "k")
                with open(c, "wb") as f:
                    f.write(cert)
                with open(k, "wb") as f:
                    f.write(key)
                self.ctx.load_cert_chain(c, k)

    def call(self, method: str, path: str, body: object | None = None, headers: dict | None = None, content_type: str = "application/json"):
        data = json.dumps(body).encode() if body is not None else None
        h = {"Content-Type": content_type, "Accept": "application/json", **(headers or {})}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.server + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=self.timeout) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            reason = ""
            try:
                status = json.loads(detail)
                detail, reason = status.get("message", detail), status.get("reason", "")
            except ValueError:
                pass
            raise ApiError(detail, e.code, reason) from e
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise ApiError(f'Get "{self.server}{path}": dial tcp {self.server.split("://")[1]}: {reason}') from e
        return json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode()
