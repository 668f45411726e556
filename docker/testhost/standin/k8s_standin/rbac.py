"""RBAC as Kubernetes ≥ 1.29 evaluates it: `system:masters` bypasses it; everyone else is allowed
only by a (Cluster)RoleBinding whose subject matches the user, a group, or a service account, to a
role whose rule matches the verb, API group, resource, name — or the non-resource URL. The bootstrap
roles kube-apiserver creates at start are built in (so /healthz and discovery answer while etcd is
down, as the real authorizer answers from its cache); the rest is read from etcd and cached for a
second (from the local member, without waiting for a quorum), re-read at once before a refusal."""
from __future__ import annotations

import fnmatch
import threading
import time
from dataclasses import dataclass, field

from .etcd import EtcdError
from .resources import BY_PATH, Resource
from .store import ApiStatus, Store


@dataclass
class User:
    name: str
    groups: list[str] = field(default_factory=list)


ANONYMOUS = User("system:anonymous", ["system:unauthenticated"])

PUBLIC_INFO = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
DISCOVERY = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"]


def _crb(name: str, role: str, subjects: list[tuple[str, str]]) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": k, "name": n} for k, n in subjects]}


def _cr(name: str, rules: list[dict]) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}}, "rules": rules}


BOOTSTRAP_ROLES = [
    _cr("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
    _cr("system:public-info-viewer", [{"nonResourceURLs": PUBLIC_INFO, "verbs": ["get"]}]),
    _cr("system:discovery", [{"nonResourceURLs": DISCOVERY, "verbs": ["get"]}]),
    _cr("system:node-bootstrapper", [{"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests"], "verbs": ["create", "get", "list", "watch"]}]),
]
BOOTSTRAP_BINDINGS = [
    _crb("cluster-admin", "cluster-admin", [("Group", "system:masters")]),
    _crb("system:public-info-viewer", "system:public-info-viewer", [("Group", "system:authenticated"), ("Group", "system:unauthenticated")]),
    _crb("system:discovery", "system:discovery", [("Group", "system:authenticated")]),
]

RBAC = {n: BY_PATH[("rbac.authorization.k8s.io", "v1", n)] for n in ("clusterroles", "clusterrolebindings", "roles", "rolebindings")}


@dataclass
class Request:
    verb: str
    resource: Resource | None = None
    namespace: str | None = None
    name: str | None = None
    path: str = ""


class Authorizer:
    def __init__(self, store: Store, ttl: float = 1.0):
        self.store = store
        self.ttl = ttl
        self._lock = threading.Lock()
        self._objects: dict[str, list[dict]] = {k: [] for k in RBAC}
        self._read_at = 0.0

    def _refresh(self, force: bool = False) -> None:
        with self._lock:
            if not force and time.time() - self._read_at < self.ttl:
                return
            try:
                # serializable: the local member's copy, as the real authorizer answers from its
                # informer cache — a request is never held up by an etcd without quorum
                fresh = {k: self.store.list(r, None, serializable=True)[0] for k, r in RBAC.items()}
            except (ApiStatus, EtcdError):
                return  # keep what we had: the real authorizer answers from its informer cache
            self._objects, self._read_at = fresh, time.time()

    def invalidate(self) -> None:
        """A role or binding was written through this API server: read them again at the next check."""
        self._read_at = 0.0

    def allowed(self, user: User, req: Request) -> bool:
        if "system:masters" in user.groups:
            return True
        self._refresh()
        if self._evaluate(user, req):
            return True
        self._refresh(force=True)  # a binding made a moment ago through another API server
        return self._evaluate(user, req)

    def check(self, user: User, req: Request) -> None:
        if not self.allowed(user, req):
            raise forbidden(user, req)

    def _evaluate(self, user: User, req: Request) -> bool:
        roles = {r["metadata"]["name"]: r for r in [*BOOTSTRAP_ROLES, *self._objects["clusterroles"]]}
        local_roles = {(r["metadata"].get("namespace"), r["metadata"]["name"]): r for r in self._objects["roles"]}
        for b in [*BOOTSTRAP_BINDINGS, *self._objects["clusterrolebindings"]]:
            if _subject_matches(b, user) and _rules_allow(roles.get(b["roleRef"]["name"]), req):
                return True
        if req.namespace:
            for b in self._objects["rolebindings"]:
                if b["metadata"].get("namespace") != req.namespace or not _subject_matches(b, user):
                    continue
                ref = b["roleRef"]
                role = roles.get(ref["name"]) if ref["kind"] == "ClusterRole" else local_roles.get((req.namespace, ref["name"]))
                if _rules_allow(role, req):
                    return True
        return False


def _subject_matches(binding: dict, user: User) -> bool:
    for s in binding.get("subjects") or []:
        kind, name = s.get("kind"), s.get("name")
        if kind == "User" and name == user.name:
            return True
        if kind == "Group" and name in user.groups:
            return True
        if kind == "ServiceAccount" and user.name == f"system:serviceaccount:{s.get('namespace')}:{name}":
            return True
    return False


def _rules_allow(role: dict | None, req: Request) -> bool:
    for rule in (role or {}).get("rules") or []:
        verbs = rule.get("verbs") or []
        if "*" not in verbs and req.verb not in verbs:
            continue
        if req.resource is None:
            if any(u == "*" or u == req.path or (u.endswith("*") and req.path.startswith(u[:-1])) for u in rule.get("nonResourceURLs") or []):
                return True
            continue
        groups = rule.get("apiGroups") or []
        if "*" not in groups and req.resource.group not in groups:
            continue
        resources = rule.get("resources") or []
        if "*" not in resources and req.resource.name not in resources and not any(fnmatch.fnmatch(req.resource.name, p) for p in resources if "*" in p):
            continue
        names = rule.get("resourceNames") or []
        if names and req.name not in names:
            continue
        return True
    return False


def forbidden(user: User, req: Request) -> ApiStatus:
    """Kubernetes' own wording (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters)."""
    if req.resource is None:
        return ApiStatus(403, "Forbidden", f'forbidden: User "{user.name}" cannot {req.verb} path "{req.path}"')
    r = req.resource
    what = f'{r.qualified} "{req.name}"' if req.name else r.qualified
    scope = f'in the namespace "{req.namespace}"' if req.namespace else "at the cluster scope"
    return ApiStatus(403, "Forbidden", f'{what} is forbidden: User "{user.name}" cannot {req.verb} resource "{r.name}" in API group "{r.group}" {scope}',
                     {**({"name": req.name} if req.name else {}), "group": r.group, "kind": r.name})
