"""The kube-apiserver stand-in: TLS on the node's bind port, started by the kubelet stand-in when
/etc/kubernetes/manifests/kube-apiserver.yaml exists. Anonymous: /healthz /livez /readyz /version
and the kube-public cluster-info ConfigMap (join discovery). Everything else needs a client
certificate signed by the cluster CA, or a bootstrap token for the join calls."""
import base64
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import paths, pki, state
from .client import ApiError, Client

VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.2", "platform": "linux/amd64"}
LOCK = threading.Lock()


def node_view(name: str, n: dict, cni: bool) -> dict:
    roles = {"node-role.kubernetes.io/control-plane": ""} if n.get("controlPlane") else {}
    ready = "True" if cni else "False"
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **roles}, "creationTimestamp": n.get("joined")},
        "status": {"addresses": [{"type": "InternalIP", "address": n["address"]}, {"type": "Hostname", "address": name}],
                   "conditions": [{"type": "Ready", "status": ready, "reason": "KubeletReady" if cni else "KubeletNotReady",
                                   "message": "kubelet is posting ready status" if cni else "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"}],
                   "nodeInfo": {"kubeletVersion": VERSION["gitVersion"]}},
    }


def has_cni(s: dict) -> bool:
    return any(k.startswith("DaemonSet/kube-flannel/") for k in s["objects"])


def pods(s: dict, namespace: str) -> list[dict]:
    """Pods a DaemonSet would run: one per node (the only workload the stand-in models)."""
    out = []
    for key, obj in s["objects"].items():
        kind, ns, name = key.split("/", 2)
        if kind != "DaemonSet" or (namespace and ns != namespace):
            continue
        for node in sorted(s["nodes"]):
            suffix = abs(hash((name, node))) % 100000
            out.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{name}-{suffix:05d}", "namespace": ns},
                        "spec": {"nodeName": node}, "status": {"phase": "Running"}})
    return out


class Handler(BaseHTTPRequestHandler):
    server_version = "kube-apiserver-standin"

    def log_message(self, fmt, *args):  # quiet: journald gets errors only
        pass

    def _send(self, code: int, body) -> None:
        data = (json.dumps(body) if not isinstance(body, str) else body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json" if not isinstance(body, str) else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _fail(self, code: int, message: str) -> None:
        self._send(code, {"kind": "Status", "status": "Failure", "message": message, "code": code})

    def _body(self) -> dict:
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def _client_cert(self) -> bool:
        return bool(self.connection.getpeercert())

    def _token(self, s: dict) -> bool:
        auth = self.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and state.token_valid(s, auth[7:])

    def do_GET(self):
        path = self.path.split("?")[0]
        if path in ("/healthz", "/livez", "/readyz"):
            return self._send(200, "ok")
        if path == "/version":
            return self._send(200, VERSION)
        s = state.read()
        if s is None:
            return self._fail(503, "cluster state not initialised")
        if path == "/api/v1/namespaces/kube-public/configmaps/cluster-info":
            ca = base64.b64encode(pki.read("ca.crt")).decode()
            kubeconfig = f"apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: https://{s['endpoint']}\n  name: \"\"\n"
            return self._send(200, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cluster-info", "namespace": "kube-public"}, "data": {"kubeconfig": kubeconfig}})
        if path == "/haprov/v1/kubeadm-certs":
            if not self._token(s):
                return self._fail(401, "Unauthorized")
            c = s.get("certs")
            if not c or c["expires"] < time.time():
                return self._fail(404, 'secrets "kubeadm-certs" not found')
            return self._send(200, c)
        if not self._client_cert():
            return self._fail(401, "Unauthorized")
        if path == "/api/v1/nodes":
            return self._send(200, {"apiVersion": "v1", "kind": "NodeList", "items": [node_view(n, v, has_cni(s)) for n, v in sorted(s["nodes"].items())]})
        if path.startswith("/api/v1/nodes/"):
            name = path.rsplit("/", 1)[1]
            if name not in s["nodes"]:
                return self._fail(404, f'nodes "{name}" not found')
            return self._send(200, node_view(name, s["nodes"][name], has_cni(s)))
        if path == "/api/v1/pods" or (path.startswith("/api/v1/namespaces/") and path.endswith("/pods")):
            ns = path.split("/")[4] if path.startswith("/api/v1/namespaces/") else ""
            return self._send(200, {"apiVersion": "v1", "kind": "PodList", "items": pods(s, ns)})
        if path == "/haprov/v1/state":
            return self._send(200, s)
        if path == "/haprov/v1/tokens":
            return self._send(200, {tid: {"expires": t["expires"]} for tid, t in s["tokens"].items()})
        return self._fail(404, f"the server could not find the requested resource ({path})")

    def do_POST(self):
        path = self.path.split("?")[0]
        body = self._body()
        with LOCK, state.locked():
            s = state.read()
            if s is None:
                return self._fail(503, "cluster state not initialised")
            if path == "/haprov/v1/replicate":
                if not self._client_cert():
                    return self._fail(401, "Unauthorized")
                if body.get("version", 0) > s["version"]:
                    state.write(body)
                return self._send(200, {"version": max(body.get("version", 0), s["version"])})
            if path in ("/haprov/v1/join", "/haprov/v1/validate-token"):
                token = body.get("token", "")
                if not state.token_valid(s, token):
                    return self._fail(401, f'token id "{token.split(".")[0]}" is invalid for this cluster or it has expired. Use "kubeadm token create" on the control-plane node to create a new valid token')
                if path == "/haprov/v1/validate-token":
                    return self._send(200, {"ok": True})
                name = body["node"]
                if name in s["nodes"]:
                    return self._fail(409, f'a Node with name "{name}" and status "Ready" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node')
                s["nodes"][name] = {"address": body["address"], "controlPlane": bool(body.get("controlPlane")), "joined": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                if body.get("controlPlane"):
                    s["members"] = sorted(set(s["members"]) | {f"{body['address']}:{body.get('bindPort', 6443)}"})
                return self._commit(s)
            if not self._client_cert():
                return self._fail(401, "Unauthorized")
            if path == "/haprov/v1/tokens":
                token = body.get("token") or state.new_token()
                state.add_token(s, token, int(body.get("ttl", state.TOKEN_TTL)))
                return self._commit(s, {"token": token})
            if path == "/haprov/v1/tokens/delete":
                tid = body.get("id", "")
                if s["tokens"].pop(tid, None) is None:
                    return self._fail(404, f'secrets "bootstrap-token-{tid}" not found')
                return self._commit(s, {"ok": True})
            if path == "/haprov/v1/upload-certs":
                s["certs"] = {"blob": body["blob"], "expires": time.time() + state.CERTS_TTL}
                return self._commit(s, {"ok": True})
            if path == "/haprov/v1/apply":
                results = []
                for obj in body.get("objects", []):
                    key = f"{obj['kind']}/{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
                    old = s["objects"].get(key)
                    s["objects"][key] = obj
                    verb = "created" if old is None else ("unchanged" if old == obj else "configured")
                    results.append(f"{obj['kind'].lower()}/{obj['metadata']['name']} {verb}")
                return self._commit(s, {"results": results})
            if path == "/haprov/v1/leave":
                name = body.get("node", "")
                n = s["nodes"].pop(name, None)
                if n:
                    s["members"] = [m for m in s["members"] if not m.startswith(n["address"] + ":")]
                return self._commit(s, {"ok": True})
        return self._fail(404, f"the server could not find the requested resource ({path})")

    def _commit(self, s: dict, reply: dict | None = None):
        s["version"] += 1
        state.write(s)
        threading.Thread(target=replicate, args=(s,), daemon=True).start()
        return self._send(200, reply if reply is not None else {"ok": True, "state": s})


def admin_client(server: str) -> Client:
    return Client(server, pki.read("ca.crt"), pki.read("admin-client.crt"), pki.read("admin-client.key"), timeout=3)


def replicate(s: dict) -> None:
    me = state.read_node() or {}
    for member in s["members"]:
        if member == f"{me.get('address')}:{me.get('bindPort', 6443)}":
            continue
        try:
            admin_client(f"https://{member}").call("POST", "/haprov/v1/replicate", s)
        except ApiError:
            pass  # a member that is down catches up when it starts (pull_state)


def pull_state() -> None:
    """On start: adopt the newest state any member has (a node that was down missed writes)."""
    s = state.read()
    if not s:
        return
    for member in s["members"]:
        try:
            other = admin_client(f"https://{member}").call("GET", "/haprov/v1/state")
        except ApiError:
            continue
        if isinstance(other, dict) and other.get("version", 0) > s["version"]:
            s = other
    with state.locked():
        cur = state.read()
        if cur and s["version"] > cur["version"]:
            state.write(s)


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # TLS probes that hang up are normal
        pass


def serve() -> None:
    node = state.read_node()
    if not node:
        raise SystemExit("kube-apiserver-standin: no /var/lib/haprov-standin/node.json (run kubeadm init or join)")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(f"{paths.PKI}/apiserver.crt", f"{paths.PKI}/apiserver.key")
    ctx.load_verify_locations(f"{paths.PKI}/ca.crt")
    ctx.verify_mode = ssl.CERT_OPTIONAL
    httpd = QuietServer(("0.0.0.0", int(node.get("bindPort", 6443))), Handler)
    httpd.daemon_threads = True
    # Handshake in the handler thread, not in accept(): a TCP-only probe cannot stall the server.
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=pull_state, daemon=True).start()
    httpd.serve_forever()
