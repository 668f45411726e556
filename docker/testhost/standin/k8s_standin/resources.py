"""The API resources the stand-in serves: what discovery lists, what the store keeps in etcd (under
kube-apiserver's own key layout, /registry/<resource>/[<namespace>/]<name>), and what RBAC names."""
from __future__ import annotations

from dataclasses import dataclass

VERBS = ["create", "delete", "get", "list", "patch", "update"]  # no watch: the stand-in has none


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    name: str
    singular: str
    kind: str
    namespaced: bool
    short: tuple[str, ...] = ()
    key: str = ""  # etcd key segment when it differs from the name (kube-apiserver: nodes → minions)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """leases.coordination.k8s.io, nodes: the name in Kubernetes' messages."""
        return f"{self.name}.{self.group}" if self.group else self.name

    def prefix(self, namespace: str | None) -> str:
        base = f"/registry/{self.key or self.name}/"
        return base + (f"{namespace}/" if self.namespaced and namespace else "")

    def etcd_key(self, namespace: str | None, name: str) -> str:
        return f"{self.prefix(namespace)}{name}"


RESOURCES = [
    Resource("", "v1", "namespaces", "namespace", "Namespace", False, ("ns",)),
    Resource("", "v1", "nodes", "node", "Node", False, ("no",), key="minions"),
    Resource("", "v1", "configmaps", "configmap", "ConfigMap", True, ("cm",)),
    Resource("", "v1", "secrets", "secret", "Secret", True),
    Resource("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True, ("sa",)),
    Resource("", "v1", "services", "service", "Service", True, ("svc",), key="services/specs"),
    Resource("", "v1", "endpoints", "endpoints", "Endpoints", True, ("ep",), key="services/endpoints"),
    Resource("", "v1", "pods", "pod", "Pod", True, ("po",)),
    Resource("", "v1", "events", "event", "Event", True, ("ev",)),
    Resource("apps", "v1", "daemonsets", "daemonset", "DaemonSet", True, ("ds",)),
    Resource("apps", "v1", "deployments", "deployment", "Deployment", True, ("deploy",)),
    Resource("coordination.k8s.io", "v1", "leases", "lease", "Lease", True),
    Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", False),
    Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", False),
    Resource("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", True),
    Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", True),
]

BY_PATH = {(r.group, r.version, r.name): r for r in RESOURCES}
BY_KIND = {(r.group, r.kind): r for r in RESOURCES}


def groups() -> list[tuple[str, str]]:
    """(group, version) pairs of the named groups, in a stable order."""
    seen: list[tuple[str, str]] = []
    for r in RESOURCES:
        if r.group and (r.group, r.version) not in seen:
            seen.append((r.group, r.version))
    return seen


def resource_list(group: str, version: str) -> dict:
    """GET /api/v1, /apis/G/V: an APIResourceList (legacy discovery)."""
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": [
            {"name": r.name, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind, "verbs": VERBS,
             **({"shortNames": list(r.short)} if r.short else {})}
            for r in RESOURCES if r.group == group and r.version == version
        ],
    }


def group_list() -> dict:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v}], "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v}}
            for g, v in groups()
        ],
    }


def _aggregated_version(group: str, version: str) -> dict:
    return {
        "version": version,
        "resources": [
            {"resource": r.name, "responseKind": {"group": group, "version": version, "kind": r.kind},
             "scope": "Namespaced" if r.namespaced else "Cluster", "singularResource": r.singular, "verbs": VERBS,
             **({"shortNames": list(r.short)} if r.short else {})}
            for r in RESOURCES if r.group == group and r.version == version
        ],
        "freshness": "Current",
    }


def aggregated(core: bool, api_version: str) -> dict:
    """The aggregated discovery document kubectl ≥ 1.26 asks for first (apidiscovery.k8s.io)."""
    items = ([{"metadata": {"creationTimestamp": None}, "versions": [_aggregated_version("", "v1")]}] if core else
             [{"metadata": {"name": g, "creationTimestamp": None}, "versions": [_aggregated_version(g, v)]} for g, v in groups()])
    return {"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": items}


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_root() -> dict:
    """GET /openapi/v3: where each group-version's document is."""
    gvs = [("", "v1"), *groups()]
    return {"paths": {_gv_path(g, v): {"serverRelativeURL": f"/openapi/v3/{_gv_path(g, v)}?hash=standin"} for g, v in gvs}}


def openapi_gv(group: str, version: str) -> dict | None:
    """GET /openapi/v3/api/v1 …: a minimal OpenAPI 3 document — the paths of each served kind with
    their operations and the fieldValidation parameter (which `kubectl apply` looks for before it
    sends fieldValidation=Strict) — and no schemas: kubectl then builds its strategic merge patch
    from its own compiled-in types, as it does for built-in kinds when a schema is missing."""
    rs = [r for r in RESOURCES if r.group == group and r.version == version]
    if not rs:
        return None
    base = "/" + _gv_path(group, version)
    params = [{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
              {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}}]
    paths = {}
    for r in rs:
        gvk = {"group": group, "version": version, "kind": r.kind}
        coll = f"{base}/namespaces/{{namespace}}/{r.name}" if r.namespaced else f"{base}/{r.name}"

        def op(action, with_params=False):
            return {"x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk, "operationId": f"{action}{r.kind}",
                    **({"parameters": params} if with_params else {}), "responses": {"200": {"description": "OK"}}}
        paths[coll] = {"get": op("list"), "post": op("post", True)}
        paths[f"{coll}/{{name}}"] = {"get": op("get"), "put": op("put", True), "patch": op("patch", True), "delete": op("delete")}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "standin"}, "paths": paths}
