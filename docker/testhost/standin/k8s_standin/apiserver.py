"""The kube-apiserver stand-in, run by the kubelet stand-in from /etc/kubernetes/manifests/
kube-apiserver.yaml with that manifest's flags. Every object lives in a REAL etcd (--etcd-servers,
with the apiserver-etcd-client certificate): resourceVersion is etcd's revision, a stale update
gets 409, and /readyz fails when etcd has no quorum. Authentication by client certificate (CN = user,
O = groups), bootstrap token or anonymous; authorization by RBAC (rbac.py). Discovery (legacy and
aggregated), Tables for `kubectl get`, get/list/create/update/patch/delete of the resources in
resources.py. No watch, no controllers: a Node's Ready condition is computed (Ready once a CNI
DaemonSet exists in kube-flannel), and DaemonSet pods are listed as if running on every node."""
from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import json
import os
import signal
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import patch, paths, resources
from .etcd import Etcd, EtcdError
from .rbac import ANONYMOUS, BOOTSTRAP_BINDINGS, BOOTSTRAP_ROLES, Authorizer, Request, User, forbidden
from .resources import BY_PATH, Resource
from .store import ApiStatus, Store, now


def _read_version() -> str:
    for p in (os.path.join(os.path.dirname(__file__), "..", "VERSION"), "/usr/local/lib/haprov-standin/VERSION"):
        try:
            with open(p) as f:
                return f.read().strip()
        except OSError:
            continue
    return "v1.31.2"


GIT_VERSION = _read_version()
_major, _minor = GIT_VERSION.lstrip("v").split(".")[:2]
VERSION = {"major": _major, "minor": _minor, "gitVersion": GIT_VERSION, "gitCommit": "haprov-standin", "gitTreeState": "clean",
           "buildDate": "2024-10-22T00:00:00Z", "goVersion": "go1.22.8", "compiler": "gc", "platform": "linux/amd64"}

# The flags kubeadm writes into kube-apiserver.yaml (v1.31); any other flag is refused, as the real
# binary refuses an unknown flag. Only those marked used change what the stand-in does.
FLAGS = {
    "advertise-address": "used", "secure-port": "used", "bind-address": "used", "etcd-servers": "used", "etcd-cafile": "used",
    "etcd-certfile": "used", "etcd-keyfile": "used", "client-ca-file": "used", "tls-cert-file": "used", "tls-private-key-file": "used",
    "enable-bootstrap-token-auth": "used", "authorization-mode": "used", "anonymous-auth": "used",
    "allow-privileged": "", "enable-admission-plugins": "", "kubelet-client-certificate": "", "kubelet-client-key": "",
    "kubelet-preferred-address-types": "", "proxy-client-cert-file": "", "proxy-client-key-file": "",
    "requestheader-allowed-names": "", "requestheader-client-ca-file": "", "requestheader-extra-headers-prefix": "",
    "requestheader-group-headers": "", "requestheader-username-headers": "", "service-account-issuer": "",
    "service-account-key-file": "", "service-account-signing-key-file": "", "service-cluster-ip-range": "",
    "etcd-prefix": "", "v": "",
}

TABLE_ACCEPT = "as=Table"
AGGREGATED = ("apidiscovery.k8s.io", ("v2", "v2beta1"))
BOOTSTRAP_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"]
NS = BY_PATH[("", "v1", "namespaces")]
NODES = BY_PATH[("", "v1", "nodes")]
SECRETS = BY_PATH[("", "v1", "secrets")]
CONFIGMAPS = BY_PATH[("", "v1", "configmaps")]
DAEMONSETS = BY_PATH[("apps", "v1", "daemonsets")]
PODS = BY_PATH[("", "v1", "pods")]


def parse_flags(argv: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for a in argv:
        if not a.startswith("--") or "=" not in a:
            raise SystemExit(f"Error: unknown command \"{a}\" for \"kube-apiserver\"" if not a.startswith("-") else f"Error: flag needs an argument: {a}")
        k, v = a[2:].split("=", 1)
        if k not in FLAGS:
            raise SystemExit(f"Error: unknown flag: --{k}")
        out[k] = v
    return out


# -- the server's shared state -------------------------------------------------------------------
class Api:
    def __init__(self, flags: dict[str, str]):
        self.flags = flags
        servers = [s for s in flags.get("etcd-servers", "").split(",") if s]
        if not servers:
            raise SystemExit("Error: [--etcd-servers must be specified]")
        self.etcd = Etcd(servers, flags["etcd-cafile"], flags["etcd-certfile"], flags["etcd-keyfile"], timeout=3.0)
        self.store = Store(self.etcd)
        self.authz = Authorizer(self.store)
        self.started = time.time()
        self.bootstrapped = threading.Event()

    def bootstrap(self) -> None:
        """What kube-apiserver's post-start hooks create: the system namespaces and the RBAC
        bootstrap policy. Retried until etcd answers (a member that starts before its peers)."""
        while True:
            try:
                for ns in BOOTSTRAP_NAMESPACES:
                    self._ensure(NS, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
                for obj in [*BOOTSTRAP_ROLES, *BOOTSTRAP_BINDINGS]:
                    r = resources.BY_KIND[("rbac.authorization.k8s.io", obj["kind"])]
                    self._ensure(r, None, json.loads(json.dumps(obj)))
                self.bootstrapped.set()
                return
            except ApiStatus:
                time.sleep(1)

    def _ensure(self, r: Resource, ns: str | None, obj: dict) -> None:
        if self.store.find(r, ns, obj["metadata"]["name"]) is None:
            try:
                self.store.create(r, ns, obj)
            except ApiStatus as e:
                if e.code != 409:
                    raise

    # -- authentication -------------------------------------------------------------------
    def bootstrap_token_user(self, token: str) -> User | None:
        """A bootstrap token (Secret kube-system/bootstrap-token-ID) as kube-apiserver's
        --enable-bootstrap-token-auth authenticates it; None if it is not valid."""
        data = self.token_data(token)
        if not data or data.get("usage-bootstrap-authentication") != "true":
            return None
        extra = [g for g in data.get("auth-extra-groups", "").split(",") if g]
        return User(f"system:bootstrap:{token.split('.')[0]}", ["system:bootstrappers", *extra, "system:authenticated"])

    def token_data(self, token: str) -> dict | None:
        tid, _, secret = token.partition(".")
        if len(tid) != 6 or len(secret) != 16:
            return None
        s = self.store.find(SECRETS, "kube-system", f"bootstrap-token-{tid}")
        if not s or s.get("type") != "bootstrap.kubernetes.io/token":
            return None
        data = {k: base64.b64decode(v).decode() for k, v in (s.get("data") or {}).items()}
        if not hmac.compare_digest(data.get("token-secret", ""), secret):
            return None
        if data.get("expiration") and _parse_time(data["expiration"]) < time.time():
            return None  # the token cleaner would have deleted it
        return data

    def valid_tokens(self) -> dict[str, str]:
        """token id → secret of every unexpired signing token (the bootstrap signer's input)."""
        out = {}
        for s in self.store.list(SECRETS, "kube-system")[0]:
            if s.get("type") != "bootstrap.kubernetes.io/token":
                continue
            d = {k: base64.b64decode(v).decode() for k, v in (s.get("data") or {}).items()}
            if d.get("usage-bootstrap-signing") == "true" and not (d.get("expiration") and _parse_time(d["expiration"]) < time.time()):
                out[d["token-id"]] = d["token-secret"]
        return out


def _parse_time(s: str) -> float:
    """RFC 3339 in UTC (what Kubernetes writes) to epoch seconds."""
    return calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S"))


def jws_detached(content: str, token_id: str, token_secret: str) -> str:
    """k8s.io/cluster-bootstrap/token/jws: HS256 over the content, key = the token secret,
    compact serialization with the payload left out ("header..signature")."""
    def enc(b: bytes) -> str:
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    header = enc(json.dumps({"alg": "HS256", "kid": token_id}, separators=(",", ":")).encode())
    signing_input = f"{header}.{enc(content.encode())}"
    sig = hmac.new(token_secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{header}..{enc(sig)}"


def _age(ts: str | None) -> str:
    if not ts:
        return "<unknown>"
    s = max(0, int(time.time() - _parse_time(ts)))
    if s < 120:
        return f"{s}s"
    if s < 3600 * 2:
        return f"{s // 60}m"
    if s < 86400 * 2:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


# -- requests ------------------------------------------------------------------------------------
class Handler(BaseHTTPRequestHandler):
    server_version = "kube-apiserver-standin"
    protocol_version = "HTTP/1.1"
    api: Api

    def log_message(self, fmt, *args):  # quiet: journald gets errors only
        pass

    def _send(self, code: int, body, content_type: str | None = None) -> None:
        text = isinstance(body, str)
        data = (body if text else json.dumps(body)).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type or ("text/plain; charset=utf-8" if text else "application/json"))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        if QuietServer.draining:  # terminating: this answer is the connection's last
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def _status(self, e: ApiStatus) -> None:
        self._send(e.code, e.body())

    def _body(self):
        raw = self._raw
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiStatus(400, "BadRequest", "the server rejected our request due to an error in our request: invalid character in the body (the stand-in accepts JSON only)")

    def _user(self) -> User:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            u = self.api.bootstrap_token_user(auth[7:].strip())
            if u is None:
                raise ApiStatus(401, "Unauthorized", "Unauthorized")
            return u
        cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
        if cert:
            names = [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"]
            groups = [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "organizationName"]
            return User(names[0] if names else "", [*groups, "system:authenticated"])
        if self.api.flags.get("anonymous-auth") == "false":
            raise ApiStatus(401, "Unauthorized", "Unauthorized")
        return ANONYMOUS

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_PUT(self):
        self._route("PUT")

    def do_PATCH(self):
        self._route("PATCH")

    def do_DELETE(self):
        self._route("DELETE")

    def _route(self, method: str) -> None:
        # Read the body first: a keep-alive connection must not see it as the next request.
        n = int(self.headers.get("Content-Length") or 0)
        self._raw = self.rfile.read(n) if n else b""
        try:
            # The TLS handshake happens here, in the request's thread (see serve()).
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            path = url.path.rstrip("/") or "/"
            user = self._user()
            if path in ("/healthz", "/livez", "/readyz") or path.startswith(("/healthz/", "/livez/", "/readyz/")):
                return self._health(user, path, "verbose" in query)
            if path in ("/version", "/api", "/apis") or path.startswith(("/openapi", "/apis/", "/api/")) and self._discovery_path(path):
                return self._discovery(user, path, method)
            if path == "/haprov/v1/join" and method == "POST":
                return self._join(user)
            parts = path.strip("/").split("/")
            if parts[0] == "api" and len(parts) >= 2:
                group, version, rest = "", parts[1], parts[2:]
            elif parts[0] == "apis" and len(parts) >= 3:
                group, version, rest = parts[1], parts[2], parts[3:]
            else:
                raise ApiStatus(404, "NotFound", "the server could not find the requested resource")
            return self._resource(user, method, group, version, rest, query)
        except ApiStatus as e:
            self._status(e)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass
        except Exception as e:  # a bug in the stand-in: Kubernetes' 500, never a dropped connection
            print(f"kube-apiserver-standin: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            self._status(ApiStatus(500, "InternalError", f"Internal error occurred: {type(e).__name__}: {e}"))

    @staticmethod
    def _discovery_path(path: str) -> bool:
        parts = path.strip("/").split("/")
        return parts[0] == "openapi" or (parts[0] == "api" and len(parts) <= 2) or (parts[0] == "apis" and len(parts) <= 3)

    # -- /healthz /livez /readyz ----------------------------------------------------------------
    def _health(self, user: User, path: str, verbose: bool) -> None:
        self.api.authz.check(user, Request("get", path=path))
        checks = ["ping", "log", "poststarthook/start-apiextensions-controllers", "poststarthook/rbac/bootstrap-roles"]
        failed: list[str] = []
        if not path.startswith("/livez"):
            checks.insert(2, "etcd")
            if not self.api.etcd.healthy():
                failed.append("etcd")
            if not self.api.bootstrapped.is_set():
                failed.append("poststarthook/rbac/bootstrap-roles")
        kind = path.strip("/").split("/")[0]
        if not failed and not verbose:
            return self._send(200, "ok")
        lines = [f"[-]{c} failed: reason withheld" if c in failed else f"[+]{c} ok" for c in checks]
        lines.append(f"{kind} check failed" if failed else f"{kind} check passed")
        self._send(500 if failed else 200, "\n".join(lines) + "\n")

    # -- discovery --------------------------------------------------------------------------------
    def _discovery(self, user: User, path: str, method: str) -> None:
        self.api.authz.check(user, Request("get", path=path))
        if method != "GET":
            raise ApiStatus(405, "MethodNotAllowed", f"the server does not allow this method on the requested resource")
        if path == "/version":
            return self._send(200, VERSION)
        if path == "/openapi/v3":
            return self._send(200, resources.openapi_root())
        if path.startswith("/openapi/v3/"):
            parts = path[len("/openapi/v3/"):].split("/")
            doc = resources.openapi_gv(*(("", parts[1]) if parts[0] == "api" else (parts[1], parts[2]))) if len(parts) in (2, 3) else None
            if doc is not None:
                return self._send(200, doc)
        if path.startswith("/openapi"):  # no OpenAPI v2: kubectl falls back to its built-in types
            raise ApiStatus(404, "NotFound", "the server could not find the requested resource")
        accept = self.headers.get("Accept", "")
        if path in ("/api", "/apis"):
            for part in accept.split(","):
                if f"g={AGGREGATED[0]}" in part and "as=APIGroupDiscoveryList" in part:
                    v = next((v for v in AGGREGATED[1] if f"v={v};" in part + ";"), None)
                    if v:
                        return self._send(200, resources.aggregated(path == "/api", f"{AGGREGATED[0]}/{v}"),
                                          f"application/json;g={AGGREGATED[0]};v={v};as=APIGroupDiscoveryList")
            if path == "/api":
                addr = f"{self.api.flags.get('advertise-address', '')}:{self.api.flags.get('secure-port', '6443')}"
                return self._send(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr}]})
            return self._send(200, resources.group_list())
        parts = path.strip("/").split("/")
        if parts[0] == "api" and parts[1] == "v1":
            return self._send(200, resources.resource_list("", "v1"))
        if parts[0] == "apis":
            gv = [(g, v) for g, v in resources.groups() if g == parts[1]]
            if gv and len(parts) == 2:
                g, v = gv[0]
                return self._send(200, {"kind": "APIGroup", "apiVersion": "v1", "name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v}], "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v}})
            if gv and len(parts) == 3 and parts[2] == gv[0][1]:
                return self._send(200, resources.resource_list(*gv[0]))
        raise ApiStatus(404, "NotFound", "the server could not find the requested resource")

    # -- resources --------------------------------------------------------------------------------
    def _resource(self, user: User, method: str, group: str, version: str, rest: list[str], query: dict) -> None:
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        if not rest:
            raise ApiStatus(404, "NotFound", "the server could not find the requested resource")
        r = BY_PATH.get((group, version, rest[0]))
        if r is None:
            raise ApiStatus(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        if len(rest) > 2:
            raise ApiStatus(404, "NotFound", f"the server could not find the requested resource (subresource {rest[2]} of {r.name} is not modelled by this stand-in)")
        if r.namespaced is False:
            ns = None
        if "watch" in query and query["watch"][0] not in ("0", "false"):
            raise ApiStatus(405, "MethodNotAllowed", "the server does not allow this method on the requested resource (watch is not modelled by this stand-in)")
        verb = {"GET": "get" if name else "list", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[method]
        if method == "POST" and name:
            raise ApiStatus(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if method in ("PUT", "PATCH", "DELETE") and not name:
            raise ApiStatus(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        self.api.authz.check(user, Request(verb, r, ns, name))
        try:
            self._dispatch(r, verb, ns, name, query)
        finally:
            if r.group == "rbac.authorization.k8s.io" and verb not in ("get", "list"):
                self.api.authz.invalidate()  # after the write: this server's next check reads it

    def _dispatch(self, r: Resource, verb: str, ns: str | None, name: str | None, query: dict) -> None:
        store = self.api.store
        if verb == "list":
            items, rev = store.list(r, ns)
            if r is PODS:
                items += self._daemon_pods(ns)
            if r is NODES:
                items = [self._node_view(n) for n in items]
            selector = (query.get("labelSelector") or [""])[0]
            if selector:
                items = [i for i in items if _matches(i, selector)]
            field = (query.get("fieldSelector") or [""])[0]
            for term in filter(None, field.split(",")):  # kube-apiserver ANDs the terms
                key, _, want = term.partition("=")
                if key == "metadata.name":
                    items = [i for i in items if i["metadata"]["name"] == want]
                elif key == "spec.nodeName" and r is PODS:  # kubectl drain lists a node's pods so
                    items = [i for i in items if (i.get("spec") or {}).get("nodeName", "") == want]
                elif key == "metadata.namespace":
                    items = [i for i in items if i["metadata"].get("namespace") == want]
                else:
                    raise ApiStatus(400, "BadRequest", f'"{key}" is not a known field selector: only "metadata.name", "metadata.namespace"' + (', "spec.nodeName"' if r is PODS else ""))
            lst = {"kind": f"{r.kind}List", "apiVersion": r.group_version, "metadata": {"resourceVersion": str(rev)}, "items": items}
            return self._send_objects(r, lst, items)
        if verb == "get":
            obj = store.get(r, ns, name)
            if r is NODES:
                obj = self._node_view(obj)
            if r is CONFIGMAPS and ns == "kube-public" and name == "cluster-info":
                obj = self._signed_cluster_info(obj)
            if r is SECRETS and name == "kubeadm-certs" and _expired(obj):
                raise ApiStatus(404, "NotFound", 'secrets "kubeadm-certs" not found', {"name": name, "kind": "secrets"})
            return self._send_objects(r, obj, [obj])
        if verb == "create":
            body = self._body()
            if (body.get("apiVersion"), body.get("kind")) not in ((r.group_version, r.kind), (None, None)):
                raise ApiStatus(400, "BadRequest", f"the API version in the data ({body.get('apiVersion')}) does not match the expected API version ({r.group_version})")
            return self._send(201, store.create(r, ns, body))
        if verb == "update":
            return self._send(200, store.update(r, ns, name, self._body()))
        if verb == "patch":
            body = self._body()
            for _ in range(5):  # kube-apiserver retries a patch on a conflict with itself
                current = store.get(r, ns, name)
                patched = patch.apply(self.headers.get("Content-Type", ""), current, body)
                patched.setdefault("metadata", {})["resourceVersion"] = current["metadata"]["resourceVersion"]
                try:
                    return self._send(200, store.update(r, ns, name, patched, current))
                except ApiStatus as e:
                    if e.code != 409:
                        raise
            raise ApiStatus(409, "Conflict", f'Operation cannot be fulfilled on {r.qualified} "{name}": the object has been modified; please apply your changes to the latest version and try again')
        if verb == "delete":
            return self._send(200, store.delete(r, ns, name))

    def _send_objects(self, r: Resource, body: dict, items: list[dict]) -> None:
        if TABLE_ACCEPT in self.headers.get("Accept", ""):
            return self._send(200, _table(r, body, items))
        self._send(200, body)

    def _node_view(self, node: dict) -> dict:
        cni = bool(self.api.store.list(DAEMONSETS, "kube-flannel")[0])
        conds = [c for c in node.get("status", {}).get("conditions", []) if c.get("type") != "Ready"]
        ready = {"type": "Ready", "status": "True" if cni else "False", "reason": "KubeletReady" if cni else "KubeletNotReady",
                 "message": "kubelet is posting ready status" if cni else "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"}
        node.setdefault("status", {})["conditions"] = [ready, *conds]
        return node

    def _daemon_pods(self, ns: str | None) -> list[dict]:
        """Pods a DaemonSet would run: one per node (the only workload the stand-in models)."""
        out = []
        nodes = sorted(n["metadata"]["name"] for n in self.api.store.list(NODES, None)[0])
        for ds in self.api.store.list(DAEMONSETS, ns)[0]:
            m = ds["metadata"]
            for node in nodes:
                suffix = hashlib.sha256(f"{m['name']}/{node}".encode()).hexdigest()[:5]
                out.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{m['name']}-{suffix}", "namespace": m["namespace"], "creationTimestamp": m.get("creationTimestamp"),
                                                                           "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": m["name"], "uid": m.get("uid"), "controller": True, "blockOwnerDeletion": True}]},
                            "spec": {"nodeName": node}, "status": {"phase": "Running"}})
        return out

    def _signed_cluster_info(self, cm: dict) -> dict:
        """The bootstrap signer (kube-controller-manager) adds a jws-kubeconfig-ID signature for
        every valid signing token; the stand-in computes them when cluster-info is read."""
        data = dict(cm.get("data") or {})
        kubeconfig = data.get("kubeconfig", "")
        for tid, secret in self.api.valid_tokens().items():
            data[f"jws-kubeconfig-{tid}"] = jws_detached(kubeconfig, tid, secret)
        return {**cm, "data": data}

    def _join(self, user: User) -> None:
        """The kubelet's TLS bootstrap and node registration, done on the joining node's behalf
        with its bootstrap token: creates its Node object."""
        if not user.name.startswith("system:bootstrap:"):
            raise ApiStatus(403, "Forbidden", f'forbidden: User "{user.name}" cannot create path "/haprov/v1/join"')
        body = self._body()
        name = body["node"]
        existing = self.api.store.find(NODES, None, name)
        if existing is not None:
            # kubeadm's kubelet-start refuses only a Ready Node of that name; a NotReady one (its
            # kubelet gone) is taken over by the joining kubelet (registerWithAPIServer).
            ready = next((c for c in self._node_view(existing)["status"]["conditions"] if c["type"] == "Ready"), {})
            if ready.get("status") == "True":
                raise ApiStatus(409, "AlreadyExists", f'a Node with name "{name}" and status "Ready" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node')
            self._send(200, existing)
            return
        labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
        if body.get("controlPlane"):
            labels["node-role.kubernetes.io/control-plane"] = ""
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
                "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]} if body.get("controlPlane") else {},
                "status": {"addresses": [{"type": "InternalIP", "address": body["address"]}, {"type": "Hostname", "address": name}],
                           "nodeInfo": {"kubeletVersion": GIT_VERSION, "osImage": "Debian GNU/Linux 12 (bookworm)", "architecture": "amd64", "operatingSystem": "linux"}}}
        self._send(201, self.api.store.create(NODES, None, node))


def _expired(obj: dict) -> bool:
    exp = (obj.get("metadata", {}).get("annotations") or {}).get("haprov.standin/expires")
    return bool(exp) and _parse_time(exp) < time.time()


def _matches(obj: dict, selector: str) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in selector.split(","):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = term.split("=", 1)
            if labels.get(k.rstrip("=")) != v:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _table(r: Resource, body: dict, items: list[dict]) -> dict:
    """meta.k8s.io/v1 Table, the form `kubectl get` prints; the columns kube-apiserver gives."""
    def col(name, typ="string", fmt=""):
        return {"name": name, "type": typ, "format": fmt, "description": name, "priority": 0}
    if r.name == "nodes":
        cols = [col("Name", fmt="name"), col("Status"), col("Roles"), col("Age"), col("Version")]

        def cells(o):
            ready = next((c["status"] for c in o.get("status", {}).get("conditions", []) if c["type"] == "Ready"), "Unknown")
            roles = sorted(k.split("/", 1)[1] for k in (o["metadata"].get("labels") or {}) if k.startswith("node-role.kubernetes.io/"))
            return [o["metadata"]["name"], "Ready" if ready == "True" else "NotReady", ",".join(roles) or "<none>", _age(o["metadata"].get("creationTimestamp")),
                    o.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "")]
    elif r.name == "pods":
        cols = [col("Name", fmt="name"), col("Ready"), col("Status"), col("Restarts", "integer"), col("Age")]

        def cells(o):
            return [o["metadata"]["name"], "1/1", o.get("status", {}).get("phase", "Pending"), 0, _age(o["metadata"].get("creationTimestamp"))]
    elif r.name == "leases":
        cols = [col("Name", fmt="name"), col("Holder"), col("Age")]

        def cells(o):
            return [o["metadata"]["name"], (o.get("spec") or {}).get("holderIdentity", ""), _age(o["metadata"].get("creationTimestamp"))]
    else:
        cols = [col("Name", fmt="name"), col("Age")]

        def cells(o):
            return [o["metadata"]["name"], _age(o["metadata"].get("creationTimestamp"))]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": body.get("metadata", {}).get("resourceVersion", "")},
            "columnDefinitions": cols,
            "rows": [{"cells": cells(o), "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}} for o in items]}


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: a few dozen joins at once (a 30-host lab) overflowed it
    # and haproxy answered with resets. Go's listener (the real kube-apiserver) takes somaxconn.
    request_queue_size = 1024

    def handle_error(self, request, client_address):  # TLS probes that hang up are normal
        pass

    # Graceful termination, as kube-apiserver's (Go's http.Server.Shutdown): on SIGTERM it stops
    # accepting connections at once (a load balancer retries new ones elsewhere), answers what the
    # connections it accepted ask, closing each after that answer, and exits when none is left (or
    # after a few seconds: an idle keep-alive client is not waited for longer). Killing them
    # mid-request made the stand-in harsher than the real server.
    active = 0
    draining = False
    count_lock = threading.Lock()

    def process_request_thread(self, request, client_address):
        with QuietServer.count_lock:
            QuietServer.active += 1
        try:
            super().process_request_thread(request, client_address)
        finally:
            with QuietServer.count_lock:
                QuietServer.active -= 1


def serve(argv: list[str]) -> None:
    flags = parse_flags(argv)
    api = Api(flags)
    Handler.api = api
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(flags["tls-cert-file"], flags["tls-private-key-file"])
    ctx.load_verify_locations(flags["client-ca-file"])
    ctx.verify_mode = ssl.CERT_OPTIONAL
    httpd = QuietServer((flags.get("bind-address", "0.0.0.0"), int(flags.get("secure-port", "6443"))), Handler)
    # Handshake in the handler thread, not in accept(): a TCP-only probe cannot stall the server.
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=api.bootstrap, daemon=True).start()
    print(f"kube-apiserver-standin {GIT_VERSION}: serving on :{flags.get('secure-port', '6443')}, etcd {flags['etcd-servers']}", file=sys.stderr, flush=True)
    def terminate(*_):
        QuietServer.draining = True
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, terminate)
    httpd.serve_forever()
    httpd.socket.close()  # no new connection from here on
    deadline = time.time() + 5
    while QuietServer.active > 0 and time.time() < deadline:
        time.sleep(0.05)
    print("kube-apiserver-standin: terminated gracefully", file=sys.stderr, flush=True)


if __name__ == "__main__":
    serve(sys.argv[1:])
