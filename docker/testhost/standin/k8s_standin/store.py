"""Kubernetes objects kept in etcd, with kube-apiserver's semantics: `resourceVersion` is etcd's
mod_revision (never stored in the value), create fails with 409 AlreadyExists, an update carrying a
stale resourceVersion fails with 409 Conflict, a namespaced object needs its namespace."""
from __future__ import annotations

import json
import time
import uuid

from .etcd import Etcd, EtcdError
from .resources import BY_PATH, Resource


class ApiStatus(Exception):
    """A Kubernetes Status failure (code, reason, message, details)."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def body(self) -> dict:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message,
                "reason": self.reason, **({"details": self.details} if self.details else {}), "code": self.code}


def not_found(r: Resource, name: str) -> ApiStatus:
    return ApiStatus(404, "NotFound", f'{r.qualified} "{name}" not found', {"name": name, "group": r.group, "kind": r.name})


def unavailable(e: EtcdError) -> ApiStatus:
    # kube-apiserver's wording when its storage does not answer in time
    return ApiStatus(504 if e.unavailable else 500, "Timeout" if e.unavailable else "InternalError",
                     "The list operation timed out, or etcd is unreachable: " + str(e) if e.unavailable else f"etcdserver: {e}")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Store:
    def __init__(self, etcd: Etcd):
        self.etcd = etcd

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except EtcdError as e:
            raise unavailable(e)

    @staticmethod
    def _decode(raw: bytes, rev: int) -> dict:
        obj = json.loads(raw)
        obj.setdefault("metadata", {})["resourceVersion"] = str(rev)
        return obj

    @staticmethod
    def _encode(obj: dict) -> bytes:
        meta = {k: v for k, v in obj.get("metadata", {}).items() if k != "resourceVersion"}
        return json.dumps({**obj, "metadata": meta}, sort_keys=True).encode()

    def get(self, r: Resource, ns: str | None, name: str) -> dict:
        raw, rev, _ = self._call(self.etcd.get, r.etcd_key(ns, name))
        if raw is None:
            raise not_found(r, name)
        return self._decode(raw, rev)

    def find(self, r: Resource, ns: str | None, name: str) -> dict | None:
        try:
            return self.get(r, ns, name)
        except ApiStatus as e:
            if e.code == 404:
                return None
            raise

    def list(self, r: Resource, ns: str | None, serializable: bool = False) -> tuple[list[dict], int]:
        items, rev = self._call(self.etcd.list, r.prefix(ns), serializable)
        return [self._decode(raw, mod) for _, raw, mod in items], rev

    def _check_namespace(self, r: Resource, ns: str | None) -> None:
        if r.namespaced:
            if not ns:
                raise ApiStatus(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
            if ns != "default" and self.find(BY_PATH[("", "v1", "namespaces")], None, ns) is None:
                raise ApiStatus(404, "NotFound", f'namespaces "{ns}" not found', {"name": ns, "kind": "namespaces"})

    def create(self, r: Resource, ns: str | None, obj: dict) -> dict:
        meta = obj.setdefault("metadata", {})
        name = meta.get("name")
        if not name:
            raise ApiStatus(422, "Invalid", f'{r.kind} "" is invalid: metadata.name: Required value: name or generateName is required')
        if r.namespaced and meta.get("namespace") not in (None, ns):
            raise ApiStatus(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
        self._check_namespace(r, ns)
        if r.namespaced:
            meta["namespace"] = ns
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=now())
        meta.pop("resourceVersion", None)
        if "spec" in obj and r.group in ("apps",):
            meta["generation"] = 1
        obj.setdefault("apiVersion", r.group_version)
        obj.setdefault("kind", r.kind)
        rev = self._call(self.etcd.create, r.etcd_key(ns, name), self._encode(obj))
        if rev is None:
            raise ApiStatus(409, "AlreadyExists", f'{r.qualified} "{name}" already exists', {"name": name, "group": r.group, "kind": r.name})
        meta["resourceVersion"] = str(rev)
        return obj

    def update(self, r: Resource, ns: str | None, name: str, obj: dict, current: dict | None = None) -> dict:
        """PUT: with metadata.resourceVersion, only if the object is still at it (409 otherwise)."""
        current = current or self.get(r, ns, name)
        meta = obj.setdefault("metadata", {})
        if meta.get("name", name) != name:
            raise ApiStatus(400, "BadRequest", f'the name of the object ({meta.get("name")}) does not match the name on the URL ({name})')
        sent = meta.get("resourceVersion")
        expected = int(sent) if sent else int(current["metadata"]["resourceVersion"])
        for k in ("uid", "creationTimestamp", "namespace", "name"):
            if k in current["metadata"]:
                meta[k] = current["metadata"][k]
        if "generation" in current["metadata"]:
            meta["generation"] = current["metadata"]["generation"] + (obj.get("spec") != current.get("spec"))
        obj.setdefault("apiVersion", r.group_version)
        obj.setdefault("kind", r.kind)
        rev = self._call(self.etcd.update, r.etcd_key(ns, name), self._encode(obj), expected)
        if rev is None:
            if self.find(r, ns, name) is None:
                raise not_found(r, name)
            raise ApiStatus(409, "Conflict", f'Operation cannot be fulfilled on {r.qualified} "{name}": the object has been modified; please apply your changes to the latest version and try again',
                            {"name": name, "group": r.group, "kind": r.name})
        meta["resourceVersion"] = str(rev)
        return obj

    def delete(self, r: Resource, ns: str | None, name: str) -> dict:
        current = self.get(r, ns, name)
        if not self._call(self.etcd.delete, r.etcd_key(ns, name), int(current["metadata"]["resourceVersion"])):
            raise ApiStatus(409, "Conflict", f'Operation cannot be fulfilled on {r.qualified} "{name}": the object has been modified; please apply your changes to the latest version and try again')
        return current
