"""`kubeadm` stand-in: init, join, reset, token, init phase upload-certs, certs certificate-key,
config validate, version. Strict about flags and config fields; see __init__.py for the scope."""
from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
import shutil
import subprocess
import sys
import time

import yaml

from . import config, flags, kubelet, paths, pki, preflight, state
from .apiserver import VERSION, jws_detached
from .client import ApiError, Client, from_kubeconfig
from .errors import KubeadmError
from .etcd import Etcd, EtcdError

COMMON = {"v": "str", "help": "bool", "h": "bool"}
INIT_FLAGS = {**COMMON, "config": "str", "control-plane-endpoint": "str", "upload-certs": "bool", "pod-network-cidr": "str",
              "apiserver-advertise-address": "str", "apiserver-bind-port": "str", "certificate-key": "str",
              "ignore-preflight-errors": "list", "node-name": "str", "kubernetes-version": "str", "service-cidr": "str",
              "cri-socket": "str", "apiserver-cert-extra-sans": "list", "skip-phases": "list", "skip-token-print": "bool",
              "skip-certificate-key-print": "bool", "token": "str", "token-ttl": "str"}
INIT_WITH_CONFIG = {"config", "upload-certs", "ignore-preflight-errors", "skip-phases", "v", "skip-token-print", "skip-certificate-key-print"}
JOIN_FLAGS = {**COMMON, "config": "str", "token": "str", "discovery-token": "str", "tls-bootstrap-token": "str",
              "discovery-token-ca-cert-hash": "list", "discovery-token-unsafe-skip-ca-verification": "bool",
              "control-plane": "bool", "certificate-key": "str", "apiserver-advertise-address": "str",
              "apiserver-bind-port": "str", "node-name": "str", "ignore-preflight-errors": "list", "cri-socket": "str", "skip-phases": "list"}
JOIN_WITH_CONFIG = {"config", "ignore-preflight-errors", "skip-phases", "v"}
DISCOVERY_TIMEOUT = float(os.environ.get("HAPROV_STANDIN_DISCOVERY_TIMEOUT", "20"))


def main(argv: list[str]) -> int:
    if not argv:
        raise KubeadmError('Usage:\n  kubeadm [command]\n\nAvailable Commands: init join reset token certs config kubeconfig version')
    cmd, rest = argv[0], argv[1:]
    if cmd == "init" and rest[:2] == ["phase", "upload-certs"]:
        return upload_certs(rest[2:])
    handlers = {"init": init, "join": join, "reset": reset, "token": token, "certs": certs, "version": version, "config": config_cmd,
                "kubeconfig": kubeconfig_cmd}
    if cmd not in handlers:
        raise KubeadmError(f'unknown command "{cmd}" for "kubeadm"\nRun \'kubeadm --help\' for usage.')
    return handlers[cmd](rest)


def _mix_check(f: dict, allowed: set[str]) -> None:
    if "config" in f:
        extra = sorted(k for k in f if k not in allowed)
        if extra:
            raise KubeadmError(f"can not mix '--config' with arguments {extra}")


def _advertise() -> str:
    out = subprocess.run(["ip", "-4", "-o", "route", "get", "1.1.1.1"], capture_output=True, text=True).stdout.split()
    return out[out.index("src") + 1] if "src" in out else "127.0.0.1"


API_TIMEOUT = float(os.environ.get("HAPROV_STANDIN_API_TIMEOUT", "60"))
ETCD_TIMEOUT = float(os.environ.get("HAPROV_STANDIN_ETCD_TIMEOUT", "60"))
BOOTSTRAPPERS = "system:bootstrappers:kubeadm:default-node-token"
CP_LABEL = "node-role.kubernetes.io/control-plane"


# -- small helpers -------------------------------------------------------------------------------
def _extra_args(args, version: str) -> list[tuple[str, str]]:
    """extraArgs: a map in v1beta3, a list of {name, value} in v1beta4 (already checked by config)."""
    if not args:
        return []
    if version == "v1beta4":
        return [(a["name"], str(a["value"])) for a in args]
    return [(k, str(v)) for k, v in args.items()]


def _flags(defaults: list[tuple[str, str]], extra: list[tuple[str, str]]) -> list[str]:
    """kubeadm's rule: an extra arg replaces the default flag of the same name, the rest are added."""
    merged = dict(defaults)
    merged.update(extra)
    return [f"--{k}={v}" for k, v in sorted(merged.items())]


class EtcdPlan:
    """Stacked (a local member per control-plane node, kubeadm's default) or external (etcd.external)."""

    def __init__(self, cc: dict):
        etcd = cc.get("etcd") or {}
        version = cc.get("_version", "v1beta4")
        ext = etcd.get("external")
        self.local = ext is None
        local = etcd.get("local") or {}
        self.data_dir = local.get("dataDir", "/var/lib/etcd")
        self.extra = _extra_args(local.get("extraArgs"), version)
        if ext is None:
            self.servers = ["https://127.0.0.1:2379"]
            self.ca, self.cert, self.key = f"{paths.PKI}/etcd/ca.crt", f"{paths.PKI}/apiserver-etcd-client.crt", f"{paths.PKI}/apiserver-etcd-client.key"
        else:
            self.servers = list(ext.get("endpoints") or [])
            self.ca, self.cert, self.key = ext.get("caFile", ""), ext.get("certFile", ""), ext.get("keyFile", "")

    def check_external(self) -> None:
        if self.local:
            return
        if not self.servers:
            raise KubeadmError("etcd.external.endpoints: Required value: must be specified")
        for what, f in (("CA certificate", self.ca), ("client certificate", self.cert), ("client key", self.key)):
            if not f or not os.path.exists(f):
                raise KubeadmError(f"[preflight] Some fatal errors occurred:\n\t[ERROR ExternalEtcdClientCertificates]: couldn't load external etcd's {what} {f}: open {f}: no such file or directory")


def _pod(name: str, command: list[str], annotations: dict | None = None) -> bytes:
    meta = {"name": name, "namespace": "kube-system", "labels": {"component": name, "tier": "control-plane"}, **({"annotations": annotations} if annotations else {})}
    image = f"registry.k8s.io/{name}:{'3.5.15-0' if name == 'etcd' else VERSION['gitVersion']}"
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                           "spec": {"hostNetwork": True, "priorityClassName": "system-node-critical",
                                    "containers": [{"name": name, "image": image, "command": [name, *command]}]}}).encode()


def _write_control_plane_manifests(address: str, port: int, etcd: EtcdPlan, cc: dict) -> None:
    """kube-apiserver (with kubeadm v1.31's flags), kube-controller-manager, kube-scheduler."""
    version = cc.get("_version", "v1beta4")
    net = cc.get("networking") or {}
    k = "/etc/kubernetes/pki"
    api = [("advertise-address", address), ("allow-privileged", "true"), ("authorization-mode", "Node,RBAC"),
           ("client-ca-file", f"{k}/ca.crt"), ("enable-admission-plugins", "NodeRestriction"), ("enable-bootstrap-token-auth", "true"),
           ("etcd-servers", ",".join(etcd.servers)), ("etcd-cafile", etcd.ca.replace(paths.ROOT, "", 1)),
           ("etcd-certfile", etcd.cert.replace(paths.ROOT, "", 1)), ("etcd-keyfile", etcd.key.replace(paths.ROOT, "", 1)),
           ("kubelet-client-certificate", f"{k}/apiserver-kubelet-client.crt"), ("kubelet-client-key", f"{k}/apiserver-kubelet-client.key"),
           ("kubelet-preferred-address-types", "InternalIP,ExternalIP,Hostname"), ("proxy-client-cert-file", f"{k}/front-proxy-client.crt"),
           ("proxy-client-key-file", f"{k}/front-proxy-client.key"), ("requestheader-allowed-names", "front-proxy-client"),
           ("requestheader-client-ca-file", f"{k}/front-proxy-ca.crt"), ("requestheader-extra-headers-prefix", "X-Remote-Extra-"),
           ("requestheader-group-headers", "X-Remote-Group"), ("requestheader-username-headers", "X-Remote-User"), ("secure-port", str(port)),
           ("service-account-issuer", "https://kubernetes.default.svc.cluster.local"), ("service-account-key-file", f"{k}/sa.pub"),
           ("service-account-signing-key-file", f"{k}/sa.key"), ("service-cluster-ip-range", net.get("serviceSubnet", "10.96.0.0/12")),
           ("tls-cert-file", f"{k}/apiserver.crt"), ("tls-private-key-file", f"{k}/apiserver.key")]
    os.makedirs(paths.MANIFESTS, exist_ok=True)
    extra_api = _extra_args((cc.get("apiServer") or {}).get("extraArgs"), version)
    pki.write_file(f"{paths.MANIFESTS}/kube-apiserver.yaml", _pod("kube-apiserver", _flags(api, extra_api),
                   {"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": f"{address}:{port}"}), 0o600)
    cm = [("kubeconfig", "/etc/kubernetes/controller-manager.conf"), ("leader-elect", "true"), ("use-service-account-credentials", "true")]
    if net.get("podSubnet"):
        cm += [("allocate-node-cidrs", "true"), ("cluster-cidr", net["podSubnet"])]
    pki.write_file(f"{paths.MANIFESTS}/kube-controller-manager.yaml", _pod("kube-controller-manager", _flags(cm, _extra_args((cc.get("controllerManager") or {}).get("extraArgs"), version))), 0o600)
    pki.write_file(f"{paths.MANIFESTS}/kube-scheduler.yaml", _pod("kube-scheduler", _flags([("kubeconfig", "/etc/kubernetes/scheduler.conf"), ("leader-elect", "true")],
                                                                                          _extra_args((cc.get("scheduler") or {}).get("extraArgs"), version))), 0o600)


def _write_etcd_manifest(node: str, address: str, etcd: EtcdPlan, initial_cluster: str, state_: str) -> None:
    """etcd.yaml with kubeadm's flags; the kubelet stand-in runs the real etcd with exactly these."""
    e = "/etc/kubernetes/pki/etcd"
    flags_ = [("advertise-client-urls", f"https://{address}:2379"), ("cert-file", f"{e}/server.crt"), ("client-cert-auth", "true"),
              ("data-dir", etcd.data_dir), ("experimental-initial-corrupt-check", "true"), ("experimental-watch-progress-notify-interval", "5s"),
              ("initial-advertise-peer-urls", f"https://{address}:2380"), ("initial-cluster", initial_cluster),
              ("key-file", f"{e}/server.key"), ("listen-client-urls", f"https://127.0.0.1:2379,https://{address}:2379"),
              ("listen-metrics-urls", "http://127.0.0.1:2381"), ("listen-peer-urls", f"https://{address}:2380"), ("name", node),
              ("peer-cert-file", f"{e}/peer.crt"), ("peer-client-cert-auth", "true"), ("peer-key-file", f"{e}/peer.key"),
              ("peer-trusted-ca-file", f"{e}/ca.crt"), ("snapshot-count", "10000"), ("trusted-ca-file", f"{e}/ca.crt")]
    if state_ == "existing":
        flags_.append(("initial-cluster-state", "existing"))
    os.makedirs(paths.MANIFESTS, exist_ok=True)
    pki.write_file(f"{paths.MANIFESTS}/etcd.yaml", _pod("etcd", _flags(flags_, etcd.extra), {"kubeadm.kubernetes.io/etcd.advertise-client-urls": f"https://{address}:2379"}), 0o600)


def _write_kubeconfigs(node: str, address: str, port: int, endpoint: str, super_admin: bool) -> None:
    """Each kubeconfig with its own client certificate, as kubeadm ≥ 1.29 writes them: admin.conf's
    user is in kubeadm:cluster-admins (rights only through RBAC), super-admin.conf's in
    system:masters (only on the node that ran init)."""
    local = f"https://{address}:{port}"
    confs = [("admin.conf", f"https://{endpoint}", "kubernetes-admin", "/O=kubeadm:cluster-admins/CN=kubernetes-admin"),
             ("kubelet.conf", f"https://{endpoint}", f"system:node:{node}", f"/O=system:nodes/CN=system:node:{node}"),
             ("controller-manager.conf", local, "system:kube-controller-manager", "/CN=system:kube-controller-manager"),
             ("scheduler.conf", local, "system:kube-scheduler", "/CN=system:kube-scheduler")]
    if super_admin:
        confs.insert(1, ("super-admin.conf", f"https://{endpoint}", "kubernetes-super-admin", "/O=system:masters/CN=kubernetes-super-admin"))
    for name, server, user, subject in confs:
        pki.write_file(f"{paths.K8S}/{name}", pki.kubeconfig(server, user, subject), 0o600)


def _start_kubelet() -> None:
    subprocess.run(["systemctl", "enable", "kubelet.service"], capture_output=True)
    r = subprocess.run(["systemctl", "restart", "kubelet.service"], capture_output=True, text=True)
    if r.returncode != 0:
        raise KubeadmError(f"error execution phase kubelet-start: {r.stderr.strip()}")


def _wait_ready(port: int, phase: str) -> None:
    """[api-check]: the local API server answers /readyz (so its etcd has a quorum)."""
    deadline = time.time() + API_TIMEOUT
    anon = Client(f"https://127.0.0.1:{port}", None, timeout=3)
    while time.time() < deadline:
        try:
            if anon.call("GET", "/readyz") == "ok":
                return
        except ApiError:
            pass
        time.sleep(0.3)
    raise KubeadmError(f"error execution phase {phase}: the API server is not ready after {API_TIMEOUT:.0f}s (its etcd may have no quorum)")


def _retry(what: str, fn):
    """client-go's retry on an endpoint that does not answer yet (the VIP, the LB) — not on a refusal."""
    deadline = time.time() + API_TIMEOUT
    while True:
        try:
            return fn()
        except ApiError as e:
            if e.code not in (0, 429, 500, 502, 503, 504) or time.time() > deadline:
                raise KubeadmError(f"error execution phase {what}: {e}")
            time.sleep(0.5)


def _retry_create(fn):
    """_retry for a POST: a 409 AlreadyExists after an attempt whose answer never came means that
    attempt created it. On the first attempt a 409 is the real answer and is raised."""
    deadline = time.time() + API_TIMEOUT
    tried = False
    while True:
        try:
            return fn()
        except ApiError as e:
            if e.code == 409 and tried:
                return None
            if e.code not in (0, 429, 500, 502, 503, 504) or time.time() > deadline:
                raise
            tried = True
            time.sleep(0.5)


def _create_or_update(c: Client, collection: str, obj: dict) -> None:
    """kubeadm's apiclient.CreateOrUpdate*: create, and on AlreadyExists replace."""
    try:
        c.call("POST", collection, obj)
    except ApiError as e:
        if e.code != 409:
            raise
        current = c.call("GET", f"{collection}/{obj['metadata']['name']}")
        obj = {**obj, "metadata": {**obj["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]}}
        c.call("PUT", f"{collection}/{obj['metadata']['name']}", obj)


def _role(ns: str, name: str, rules: list[dict]) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": name, "namespace": ns}, "rules": rules}


def _binding(kind: str, name: str, role_kind: str, role: str, subjects: list[tuple[str, str]], ns: str | None = None) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name, **({"namespace": ns} if ns else {})},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": k, "name": n} for k, n in subjects]}


RBAC_API = "/apis/rbac.authorization.k8s.io/v1"


def _token_secret(token: str, ttl: int, description: str | None) -> dict:
    tid, secret = token.split(".")
    data = {"token-id": tid, "token-secret": secret, "usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true",
            "auth-extra-groups": BOOTSTRAPPERS}
    if ttl > 0:
        data["expiration"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + ttl))
    if description:
        data["description"] = description
    return {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
            "metadata": {"name": f"bootstrap-token-{tid}", "namespace": "kube-system"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def _bundle(local_etcd: bool) -> bytes:
    names = paths.shared_pki(local_etcd)
    return json.dumps({n: base64.b64encode(pki.read(n)).decode() for n in names}).encode()


def _upload_certs(c: Client, key: str, local_etcd: bool) -> None:
    """The kubeadm-certs Secret (shared PKI encrypted with the certificate key; gone after two
    hours) and the Role that lets bootstrap tokens read it."""
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "kubeadm-certs", "namespace": "kube-system",
                           "annotations": {"haprov.standin/expires": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + state.CERTS_TTL))}},
              "data": {"bundle": base64.b64encode(pki.encrypt(_bundle(local_etcd), key)).decode()}}
    _create_or_update(c, "/api/v1/namespaces/kube-system/secrets", secret)
    _create_or_update(c, f"{RBAC_API}/namespaces/kube-system/roles",
                      _role("kube-system", "kubeadm:kubeadm-certs", [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["kubeadm-certs"], "verbs": ["get"]}]))
    _create_or_update(c, f"{RBAC_API}/namespaces/kube-system/rolebindings",
                      _binding("RoleBinding", "kubeadm:kubeadm-certs", "Role", "kubeadm:kubeadm-certs", [("Group", BOOTSTRAPPERS)], "kube-system"))


def _cluster_admins_binding() -> Client:
    """kubeadm ≥ 1.29 (EnsureAdminClusterRoleBinding): try admin.conf; it is refused (its group has
    no rights yet), so create the kubeadm:cluster-admins binding with super-admin.conf. Both go
    through the control-plane endpoint, retried until it answers."""
    admin = from_kubeconfig(f"{paths.K8S}/admin.conf", timeout=5)
    crb = _binding("ClusterRoleBinding", "kubeadm:cluster-admins", "ClusterRole", "cluster-admin", [("Group", "kubeadm:cluster-admins")])

    def ensure():
        try:
            admin.call("POST", f"{RBAC_API}/clusterrolebindings", crb)
        except ApiError as e:
            if e.code == 409:
                return
            if e.code != 403:
                raise
            try:
                from_kubeconfig(f"{paths.K8S}/super-admin.conf", timeout=5).call("POST", f"{RBAC_API}/clusterrolebindings", crb)
            except ApiError as e2:
                if e2.code != 409:
                    raise
    _retry("upload-config/kubeadm", ensure)
    return admin


def _cluster_configuration(cc: dict, endpoint: str) -> str:
    body = {k: v for k, v in cc.items() if not k.startswith("_")}
    return yaml.safe_dump({"apiVersion": f"kubeadm.k8s.io/{cc.get('_version', 'v1beta4')}", "kind": "ClusterConfiguration",
                           "kubernetesVersion": VERSION["gitVersion"], "controlPlaneEndpoint": endpoint, **body})


# -- init ----------------------------------------------------------------------------------------
def init(argv: list[str]) -> int:
    f, pos = flags.parse(argv, INIT_FLAGS, "init")
    if pos:
        raise KubeadmError(f'unknown command "{pos[0]}" for "kubeadm init"')
    _mix_check(f, INIT_WITH_CONFIG)
    cfg = config.load(f["config"], {"InitConfiguration", "ClusterConfiguration"}) if "config" in f else {}
    ic, cc = cfg.get("InitConfiguration", {}), dict(cfg.get("ClusterConfiguration", {"_version": "v1beta4"}))
    address = f.get("apiserver-advertise-address") or ic.get("localAPIEndpoint", {}).get("advertiseAddress") or _advertise()
    port = int(f.get("apiserver-bind-port") or ic.get("localAPIEndpoint", {}).get("bindPort") or 6443)
    endpoint = f.get("control-plane-endpoint") or cc.get("controlPlaneEndpoint") or f"{address}:{port}"
    if ":" not in endpoint:
        endpoint = f"{endpoint}:{port}"
    node = f.get("node-name") or ic.get("nodeRegistration", {}).get("name") or os.uname().nodename
    if f.get("pod-network-cidr"):
        cc.setdefault("networking", {})["podSubnet"] = f["pod-network-cidr"]
    if f.get("service-cidr"):
        cc.setdefault("networking", {})["serviceSubnet"] = f["service-cidr"]
    sans = [*f.get("apiserver-cert-extra-sans", []), *cc.get("apiServer", {}).get("certSANs", [])]
    cert_key = f.get("certificate-key") or ic.get("certificateKey")
    ignore = [*f.get("ignore-preflight-errors", []), *ic.get("nodeRegistration", {}).get("ignorePreflightErrors", [])]
    etcd = EtcdPlan(cc)
    print("[init] Using Kubernetes version: " + (cc.get("kubernetesVersion") or f.get("kubernetes-version") or VERSION["gitVersion"]))
    print("[preflight] Running pre-flight checks")
    preflight.run("init", port, endpoint, ignore, local_etcd=etcd.local)
    etcd.check_external()
    print("[certs] Using certificateDir folder \"/etc/kubernetes/pki\"")
    pki.create_shared_pki(etcd.local)
    pki.create_apiserver_cert(node, address, [endpoint.rsplit(":", 1)[0], *sans])
    if etcd.local:
        pki.create_etcd_member_certs(node, address)
        pki.create_etcd_client_cert()
    print("[kubeconfig] Writing \"admin.conf\", \"super-admin.conf\", \"kubelet.conf\", \"controller-manager.conf\", \"scheduler.conf\"")
    _write_kubeconfigs(node, address, port, endpoint, super_admin=True)
    if etcd.local:
        print("[etcd] Creating static Pod manifest for local etcd in \"/etc/kubernetes/manifests\"")
        _write_etcd_manifest(node, address, etcd, f"{node}=https://{address}:2380", "new")
    print("[control-plane] Creating static Pod manifests in \"/etc/kubernetes/manifests\"")
    _write_control_plane_manifests(address, port, etcd, cc)
    state.write_node({"name": node, "address": address, "bindPort": port, "controlPlane": True, "endpoint": endpoint})
    print("[kubelet-start] Starting the kubelet")
    _start_kubelet()
    print("[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory \"/etc/kubernetes/manifests\"")
    _wait_ready(port, "wait-control-plane")
    print("[api-check] The API server is healthy")

    admin = _cluster_admins_binding()
    print("[upload-config] Storing the configuration used in ConfigMap \"kubeadm-config\" in the \"kube-system\" Namespace")
    _retry("upload-config/kubeadm", lambda: _create_or_update(admin, "/api/v1/namespaces/kube-system/configmaps",
           {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
            "data": {"ClusterConfiguration": _cluster_configuration(cc, endpoint)}}))
    _create_or_update(admin, f"{RBAC_API}/namespaces/kube-system/roles",
                      _role("kube-system", "kubeadm:nodes-kubeadm-config", [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["kubeadm-config"], "verbs": ["get"]}]))
    _create_or_update(admin, f"{RBAC_API}/namespaces/kube-system/rolebindings",
                      _binding("RoleBinding", "kubeadm:nodes-kubeadm-config", "Role", "kubeadm:nodes-kubeadm-config",
                               [("Group", BOOTSTRAPPERS), ("Group", "system:nodes")], "kube-system"))
    upload = bool(f.get("upload-certs"))
    if upload:
        cert_key = cert_key or secrets.token_hex(32)
        print("[upload-certs] Storing the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace")
        _upload_certs(admin, cert_key, etcd.local)
    else:
        print("[upload-certs] Skipping phase. Please see --upload-certs")
    print(f"[mark-control-plane] Marking the node {node} as control-plane by adding the labels: [{CP_LABEL} node.kubernetes.io/exclude-from-external-load-balancers]")
    tok = f.get("token") or state.new_token()
    ttl = _duration(f.get("token-ttl", "24h"))
    print("[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles")
    _create_or_update(admin, "/api/v1/namespaces/kube-system/secrets", _token_secret(tok, ttl, "The default bootstrap token generated by 'kubeadm init'."))
    _create_or_update(admin, f"{RBAC_API}/clusterrolebindings",
                      _binding("ClusterRoleBinding", "kubeadm:kubelet-bootstrap", "ClusterRole", "system:node-bootstrapper", [("Group", BOOTSTRAPPERS)]))
    ca_b64 = base64.b64encode(pki.read("ca.crt")).decode()
    info = f"apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {ca_b64}\n    server: https://{endpoint}\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {{}}\nusers: null\n"
    _create_or_update(admin, "/api/v1/namespaces/kube-public/configmaps",
                      {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cluster-info", "namespace": "kube-public"}, "data": {"kubeconfig": info}})
    _create_or_update(admin, f"{RBAC_API}/namespaces/kube-public/roles",
                      _role("kube-public", "kubeadm:bootstrap-signer-clusterinfo", [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cluster-info"], "verbs": ["get"]}]))
    _create_or_update(admin, f"{RBAC_API}/namespaces/kube-public/rolebindings",
                      _binding("RoleBinding", "kubeadm:bootstrap-signer-clusterinfo", "Role", "kubeadm:bootstrap-signer-clusterinfo", [("User", "system:anonymous")], "kube-public"))
    # The kubelet registers its Node (the stand-in kubelet does not talk to the API server).
    _register(Client(f"https://{endpoint}", pki.read("ca.crt"), timeout=5, token=tok), node, address, port, True)
    h = pki.ca_hash(pki.read("ca.crt"))
    cp = f"  kubeadm join {endpoint} --token {tok} \\\n\t--discovery-token-ca-cert-hash {h} \\\n\t--control-plane" + (f" --certificate-key {cert_key}" if upload else "")
    print(f"""
Your Kubernetes control-plane has initialized successfully!

To start using your cluster, you need to run the following as a regular user:

  mkdir -p $HOME/.kube
  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config
  sudo chown $(id -u):$(id -g) $HOME/.kube/config

You can now join any number of control-plane nodes running the following command on each as root:

{cp}
""" + ("""
Please note that the certificate-key gives access to cluster sensitive data, keep it secret!
As a safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use
"kubeadm init phase upload-certs --upload-certs" to reload certs afterward.
""" if upload else "") + f"""
Then you can join any number of worker nodes by running the following on each as root:

kubeadm join {endpoint} --token {tok} \\
\t--discovery-token-ca-cert-hash {h}
""")
    return 0


def _register(c: Client, node: str, address: str, port: int, control_plane: bool) -> None:
    """kubelet-start: TLS bootstrap and Node registration, on the node's behalf with its token. A
    registration whose answer was lost (a timeout under load) is found on the retry: the kubelet
    then takes its own existing Node (registerWithAPIServer), so AlreadyExists after a retry is done."""
    try:
        _retry_create(lambda: c.call("POST", "/haprov/v1/join", {"node": node, "address": address, "bindPort": port, "controlPlane": control_plane}))
    except ApiError as e:
        raise KubeadmError(f"error execution phase kubelet-start: {e}")


# -- join ----------------------------------------------------------------------------------------
def _discover(endpoint: str, tok: str, hashes: list[str], unsafe: bool) -> bytes:
    """Token discovery as kubeadm does it: cluster-info from the endpoint (anonymous), the JWS
    signature for this token id (put there by the bootstrap signer) verified with the token
    secret, then the CA pinned by its public-key hash. Returns the CA."""
    tid, _, secret = tok.partition(".")
    anon = Client(f"https://{endpoint}", None, timeout=5)
    deadline, last = time.time() + DISCOVERY_TIMEOUT, None
    while True:
        try:
            info = anon.call("GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info")
            if f"jws-kubeconfig-{tid}" in (info.get("data") or {}):
                break
            last = f'token id "{tid}" is invalid for this cluster or it has expired. Use "kubeadm token create" on the control-plane node to create a new valid token'
        except ApiError as e:
            last = str(e)
        if time.time() > deadline:
            raise KubeadmError(f"error execution phase preflight: couldn't validate the identity of the API Server: {last}")
        time.sleep(1)
    kubeconfig = info["data"]["kubeconfig"]
    if not hmac.compare_digest(info["data"][f"jws-kubeconfig-{tid}"], jws_detached(kubeconfig, tid, secret)):
        raise KubeadmError("error execution phase preflight: couldn't validate the identity of the API Server: failed to verify JWS signature of received cluster info object, can't trust this API Server")
    ca = base64.b64decode(yaml.safe_load(kubeconfig)["clusters"][0]["cluster"]["certificate-authority-data"])
    actual = pki.ca_hash(ca)
    if not unsafe and actual not in hashes:
        raise KubeadmError(f'error execution phase preflight: couldn\'t validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "{actual}" are pinned')
    return ca


def join(argv: list[str]) -> int:
    f, pos = flags.parse(argv, JOIN_FLAGS, "join")
    _mix_check(f, JOIN_WITH_CONFIG)
    jc = config.load(f["config"], {"JoinConfiguration"}).get("JoinConfiguration", {}) if "config" in f else {}
    bt = jc.get("discovery", {}).get("bootstrapToken", {})
    endpoint = (pos[0] if pos else None) or bt.get("apiServerEndpoint")
    tok = f.get("token") or f.get("discovery-token") or bt.get("token")
    hashes = f.get("discovery-token-ca-cert-hash", []) or bt.get("caCertHashes", [])
    unsafe = f.get("discovery-token-unsafe-skip-ca-verification") or bt.get("unsafeSkipCAVerification")
    cp_cfg = jc.get("controlPlane")
    control_plane = bool(f.get("control-plane")) or cp_cfg is not None
    cert_key = f.get("certificate-key") or (cp_cfg or {}).get("certificateKey")
    ep_cfg = (cp_cfg or {}).get("localAPIEndpoint", {})
    address = f.get("apiserver-advertise-address") or ep_cfg.get("advertiseAddress") or _advertise()
    port = int(f.get("apiserver-bind-port") or ep_cfg.get("bindPort") or 6443)
    node = f.get("node-name") or jc.get("nodeRegistration", {}).get("name") or os.uname().nodename
    if not endpoint:
        raise KubeadmError("discovery: Invalid value: \"\": bootstrapToken or file must be set")
    if not tok or len(tok.split(".")) != 2:
        raise KubeadmError("discovery.bootstrapToken.token: Invalid value: \"\": the bootstrap token is invalid")
    if not hashes and not unsafe:
        raise KubeadmError("discovery.bootstrapToken: Invalid value: \"\": using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue")
    if cert_key and not control_plane:
        raise KubeadmError("certificate-key: Invalid value: can only be set together with --control-plane")
    ignore = [*f.get("ignore-preflight-errors", []), *jc.get("nodeRegistration", {}).get("ignorePreflightErrors", [])]
    print("[preflight] Running pre-flight checks")
    preflight.run("join-worker", port, None, ignore)
    ca = _discover(endpoint, tok, hashes, bool(unsafe))
    verified = Client(f"https://{endpoint}", ca, timeout=10, token=tok)
    print("[preflight] Reading configuration from the cluster...")
    try:
        cm = _retry("preflight", lambda: verified.call("GET", "/api/v1/namespaces/kube-system/configmaps/kubeadm-config"))
    except KubeadmError as e:
        raise KubeadmError(f"error execution phase preflight: unable to fetch the kubeadm-config ConfigMap: {str(e).split(': ', 2)[-1]}")
    cc = yaml.safe_load(cm["data"]["ClusterConfiguration"])
    cc["_version"] = cc.get("apiVersion", "kubeadm.k8s.io/v1beta4").split("/")[1]
    etcd = EtcdPlan(cc)

    if control_plane:
        print("[preflight] Running pre-flight checks before initializing the new control plane instance")
        preflight.run("control-plane-prepare", port, None, ignore, local_etcd=etcd.local)
        if cert_key:
            print("[download-certs] Downloading the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace")
            try:
                blob = verified.call("GET", "/api/v1/namespaces/kube-system/secrets/kubeadm-certs")["data"]["bundle"]
            except ApiError as e:
                raise KubeadmError(f"error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading the secret: {e}")
            try:
                bundle = json.loads(pki.decrypt(base64.b64decode(blob), cert_key))
            except (RuntimeError, ValueError):
                raise KubeadmError("error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding secret data with provided key: cipher: message authentication failed")
            for name, data in bundle.items():
                pki.write_file(f"{paths.PKI}/{name}", base64.b64decode(data), 0o600 if name.endswith(".key") else 0o644)
        missing = pki.missing_shared(etcd.local)
        if missing:
            details = ", ".join(f"couldn't load {paths.PKI.replace(paths.ROOT, '', 1)}/{m}: open /etc/kubernetes/pki/{m}: no such file or directory" for m in missing)
            raise KubeadmError(
                "error execution phase preflight: \nOne or more conditions for hosting a new control plane instance is not satisfied.\n\n"
                f"[failure loading certificate for CA: {details}]\n\nPlease ensure that:\n"
                "* The cluster has a stable controlPlaneEndpoint address.\n* The certificates that must be shared among control plane instances are provided.\n"
            )
        if pki.ca_hash(pki.read("ca.crt")) != pki.ca_hash(ca):
            raise KubeadmError("error execution phase preflight: the CA in /etc/kubernetes/pki/ca.crt is not the cluster's CA (its public-key hash differs)")
        etcd.check_external()
        print("[certs] Using certificateDir folder \"/etc/kubernetes/pki\"")
        pki.create_apiserver_cert(node, address, [endpoint.rsplit(":", 1)[0], *cc.get("apiServer", {}).get("certSANs", [])])
        if etcd.local:
            pki.create_etcd_member_certs(node, address)
            pki.create_etcd_client_cert()
        _write_kubeconfigs(node, address, port, endpoint, super_admin=False)
        _write_control_plane_manifests(address, port, etcd, cc)
    else:
        os.makedirs(paths.PKI, exist_ok=True)
        pki.write_file(f"{paths.PKI}/ca.crt", ca, 0o644)
    print("[kubelet-start] Writing kubelet configuration to file \"/var/lib/kubelet/config.yaml\"")
    _register(verified, node, address, port, control_plane)
    if not control_plane:
        pki.write_file(f"{paths.K8S}/kubelet.conf", f"apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {base64.b64encode(ca).decode()}\n    server: https://{endpoint}\n  name: default-cluster\n".encode(), 0o600)
    state.write_node({"name": node, "address": address, "bindPort": port, "controlPlane": control_plane, "endpoint": endpoint})
    print("[kubelet-start] Starting the kubelet")
    _start_kubelet()
    if control_plane:
        if etcd.local:
            _join_etcd(node, address, etcd)
        _wait_ready(port, "control-plane-join/etcd" if etcd.local else "wait-control-plane")
        print(f"[mark-control-plane] Marking the node {node} as control-plane by adding the labels: [{CP_LABEL} node.kubernetes.io/exclude-from-external-load-balancers]")
        print(f"\nThis node has joined the cluster and a new control plane instance was created:\n\n* Certificate signing request was sent to apiserver and approval was received.\n* The Kubelet was informed of the new secure connection details.\n* Control plane label and taint were applied to the new node.\n* The Kubernetes control plane instances scaled up.\n" + ("* A new etcd member was added to the local/stacked etcd cluster.\n" if etcd.local else ""))
    else:
        print("\nThis node has joined the cluster:\n* Certificate signing request was sent to apiserver and a response was received.\n* The Kubelet was informed of the new secure connection details.\n")
    return 0


def _etcd_client(endpoints: list[str]) -> Etcd:
    """kubeadm's etcd client: the healthcheck-client certificate of the etcd CA."""
    e = f"{paths.PKI}/etcd"
    return Etcd(endpoints, f"{e}/ca.crt", f"{e}/healthcheck-client.crt", f"{e}/healthcheck-client.key", timeout=5)


def _member_endpoints(exclude: str) -> list[str]:
    """The client URLs of the stacked members: the other control-plane nodes' addresses."""
    admin = from_kubeconfig(f"{paths.K8S}/admin.conf", timeout=5)
    nodes = _retry("control-plane-join/etcd", lambda: admin.call("GET", f"/api/v1/nodes?labelSelector={CP_LABEL}"))["items"]
    ips = [a["address"] for n in nodes for a in n.get("status", {}).get("addresses", []) if a["type"] == "InternalIP" and a["address"] != exclude]
    return [f"https://{ip}:2379" for ip in ips]


def _join_etcd(node: str, address: str, etcd: EtcdPlan) -> None:
    """control-plane-join/etcd (EtcdLearnerMode, on by default since v1.29): add this node as a
    learner, start its member with initial-cluster-state existing, promote it once in sync."""
    phase = "control-plane-join/etcd"
    print("[etcd] Announced new etcd member joining to the existing etcd cluster")
    client = _etcd_client(_member_endpoints(address))
    peer = f"https://{address}:2380"
    deadline = time.time() + ETCD_TIMEOUT
    while True:  # kubeadm retries: etcd refuses a reconfiguration for 5 s after the last one
        try:
            existing = next((m for m in client.members() if peer in m.get("peerURLs", [])), None)
            if existing is None:
                member, members = client.member_add(peer, learner=True)
            else:  # a previous attempt added it; kubeadm reuses the member
                member, members = existing, client.members()
            break
        except EtcdError as e:
            if time.time() > deadline:
                raise KubeadmError(f"error execution phase {phase}: error creating local etcd static pod manifest file: {e}")
            time.sleep(1)
    initial = [f"{m['name']}={m['peerURLs'][0]}" for m in members if m.get("name") and m.get("ID") != member["ID"]]
    initial.append(f"{node}={peer}")
    print("[etcd] Creating static Pod manifest for \"etcd\"")
    _write_etcd_manifest(node, address, etcd, ",".join(initial), "existing")
    deadline = time.time() + ETCD_TIMEOUT
    while True:
        try:
            client.member_promote(member["ID"])
            print(f"[etcd] Promoting the learner {member['ID']} to a voting member")
            break
        except EtcdError as e:
            if "not a learner" in str(e):
                break
            if time.time() > deadline:
                raise KubeadmError(f"error execution phase {phase}: error creating local etcd static pod manifest file: failed to promote learner member {member['ID']}: {e}")
            time.sleep(0.5)
    print(f"[etcd] Waiting for the new etcd member to join the cluster. This can take up to {ETCD_TIMEOUT:.0f}s")


# -- reset ---------------------------------------------------------------------------------------
def reset(argv: list[str]) -> int:
    f, _ = flags.parse(argv, {**COMMON, "force": "bool", "f": "bool", "cri-socket": "str", "ignore-preflight-errors": "list", "cleanup-tmp-dir": "bool", "skip-phases": "list"}, "reset")
    skipped = set(f.get("skip-phases") or [])
    unknown = skipped - {"preflight", "remove-etcd-member", "cleanup-node"}
    if unknown:  # as kubeadm: a phase name it does not have is an error
        raise KubeadmError(f"invalid phase name: {sorted(unknown)[0]}")
    if "preflight" not in skipped and not (f.get("force") or f.get("f")):
        if not sys.stdin.isatty():
            raise KubeadmError("error execution phase preflight: won't proceed; the user didn't answer (Y|n) in order to continue")
    node = state.read_node()
    # As kubeadm: the etcd data directory is cleaned only when this node ran kubeadm's local etcd
    # (an external etcd's data, e.g. Debian's etcd under /var/lib/etcd/default, is not kubeadm's).
    local_etcd = os.path.exists(f"{paths.MANIFESTS}/etcd.yaml")
    # As real kubeadm: the Node object is NOT deleted (kubeadm reset never touches it; it lingers
    # until someone runs `kubectl delete node`). A tool that resets a node it joined must delete it.
    if node and local_etcd and "remove-etcd-member" not in skipped:
        _remove_etcd_member(node["address"])
    if "cleanup-node" in skipped:
        return 0
    subprocess.run(["systemctl", "stop", "kubelet.service"], capture_output=True)
    print("[reset] Stopping the kubelet service")
    kubelet.stop_all()
    for d in (paths.MANIFESTS, paths.PKI, *([paths.ETCD_DATA] if local_etcd else [])):
        if os.path.isdir(d):
            for e in os.listdir(d):
                shutil.rmtree(f"{d}/{e}") if os.path.isdir(f"{d}/{e}") else os.remove(f"{d}/{e}")
    for c in paths.KUBECONFIGS:
        if os.path.exists(f"{paths.K8S}/{c}"):
            os.remove(f"{paths.K8S}/{c}")
    shutil.rmtree(paths.STATE_DIR, ignore_errors=True)
    print(f"[reset] Deleted contents of: [/etc/kubernetes/manifests{' /var/lib/etcd' if local_etcd else ''} /var/lib/kubelet /etc/kubernetes/pki]")
    print("The reset process does not clean your kubeconfig files and you must remove them manually.\nPlease, check the contents of the $HOME/.kube/config file.")
    return 0


def _remove_etcd_member(address: str) -> None:
    """kubeadm reset's remove-etcd-member phase."""
    peer = f"https://{address}:2380"
    try:
        others = _member_endpoints(address)
    except (ApiError, KubeadmError):
        others = []
    client = _etcd_client([*others, "https://127.0.0.1:2379"])
    deadline = time.time() + ETCD_TIMEOUT
    while True:  # retried as kubeadm does: etcd refuses a reconfiguration while a member just came back
        try:
            members = client.members()
            me = next((m for m in members if peer in m.get("peerURLs", [])), None)
            if me is None:
                return
            if len(members) == 1:
                print("[reset] This is the only etcd member: not removing it")
                return
            client.member_remove(me["ID"])
            print(f"[reset] Removed member {me['ID']} ({peer}) from the etcd cluster")
            return
        except (EtcdError, OSError) as e:
            if time.time() > deadline:
                print(f"[reset] Failed to remove etcd member: {e}. Please manually remove this etcd member using etcdctl")
                return
            time.sleep(1)


def _admin() -> Client:
    try:
        return from_kubeconfig(f"{paths.K8S}/admin.conf")
    except ApiError:
        raise KubeadmError("failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory")


def _kubeconfig_endpoint() -> str:
    with open(f"{paths.K8S}/admin.conf") as fh:
        return yaml.safe_load(fh)["clusters"][0]["cluster"]["server"].split("://", 1)[1]


def token(argv: list[str]) -> int:
    sub = argv[0] if argv else ""
    f, pos = flags.parse(argv[1:], {**COMMON, "print-join-command": "bool", "certificate-key": "str", "ttl": "str", "kubeconfig": "str", "description": "str", "usages": "list", "groups": "list"}, f"token {sub}")
    if sub == "create":
        ttl = _duration(f.get("ttl", "24h"))
        tok = pos[0] if pos else state.new_token()
        # kubeadm's UpdateOrCreateTokens polls through transient API errors (a busy endpoint), and a
        # create that landed before its answer was lost is found on the retry (AlreadyExists: done).
        secret = _token_secret(tok, ttl, f.get("description"))
        try:
            _retry_create(lambda: _admin().call("POST", "/api/v1/namespaces/kube-system/secrets", secret))
        except (ApiError, KubeadmError) as e:
            raise KubeadmError(f"failed to create or update bootstrap token with name bootstrap-token-{tok.split('.')[0]}: {e}")
        if f.get("print-join-command"):
            line = f"kubeadm join {_kubeconfig_endpoint()} --token {tok} --discovery-token-ca-cert-hash {pki.ca_hash(pki.read('ca.crt'))}"
            if f.get("certificate-key"):
                line += f" --control-plane --certificate-key {f['certificate-key']}"
            print(line)
        else:
            print(tok)
        return 0
    if sub == "delete":
        if not pos:
            raise KubeadmError("missing subcommand; 'token delete' is missing token of form '[a-z0-9]{6}' or '[a-z0-9]{6}\\.[a-z0-9]{16}'")
        for arg in pos:
            tid = arg.split(".")[0]
            try:
                _admin().call("DELETE", f"/api/v1/namespaces/kube-system/secrets/bootstrap-token-{tid}")
            except ApiError as e:
                raise KubeadmError(f'failed to delete bootstrap token "{tid}": {e}')
            print(f'bootstrap token "{tid}" deleted')
        return 0
    if sub == "list":
        items = _admin().call("GET", "/api/v1/namespaces/kube-system/secrets")["items"]
        for s in sorted(items, key=lambda s: s["metadata"]["name"]):
            if s.get("type") != "bootstrap.kubernetes.io/token":
                continue
            d = {k: base64.b64decode(v).decode() for k, v in s["data"].items()}
            print(f"{d['token-id']}.<secret>   expires {d.get('expiration', '<forever>')}   {d.get('description', '')}")
        return 0
    raise KubeadmError(f'unknown command "{sub}" for "kubeadm token"')


def _duration(s: str) -> int:
    units = {"h": 3600, "m": 60, "s": 1}
    if s and s[-1] in units and s[:-1].isdigit():
        return int(s[:-1]) * units[s[-1]]
    raise KubeadmError(f'invalid argument "{s}" for "--ttl" flag: time: invalid duration "{s}"')


def upload_certs(argv: list[str]) -> int:
    f, _ = flags.parse(argv, {**COMMON, "upload-certs": "bool", "certificate-key": "str", "config": "str", "skip-certificate-key-print": "bool", "kubeconfig": "str"}, "init phase upload-certs")
    if not f.get("upload-certs"):
        print("[upload-certs] Skipping phase. Please see --upload-certs")
        return 0
    key = f.get("certificate-key") or secrets.token_hex(32)
    local_etcd = os.path.exists(f"{paths.MANIFESTS}/etcd.yaml")
    missing = pki.missing_shared(local_etcd)
    if missing:
        raise KubeadmError(f"error execution phase upload-certs: error uploading certs: open /etc/kubernetes/pki/{missing[0]}: no such file or directory")
    try:
        _upload_certs(_admin(), key, local_etcd)
    except ApiError as e:
        raise KubeadmError(f"error execution phase upload-certs: error uploading certs: {e}")
    print('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace\n[upload-certs] Using certificate key:')
    print(key)
    return 0


def certs(argv: list[str]) -> int:
    if argv[:1] == ["certificate-key"]:
        print(secrets.token_hex(32))
        return 0
    raise KubeadmError(f'unknown command "{argv[0] if argv else ""}" for "kubeadm certs"')


def version(argv: list[str]) -> int:
    f, _ = flags.parse(argv, {**COMMON, "output": "str", "o": "str"}, "version")
    out = f.get("output") or f.get("o")
    print(VERSION["gitVersion"] if out == "short" else f"kubeadm version: &version.Info{{Major:\"1\", Minor:\"31\", GitVersion:\"{VERSION['gitVersion']}\"}}")
    return 0


def config_cmd(argv: list[str]) -> int:
    if argv[:1] != ["validate"]:
        raise KubeadmError(f'unknown command "{argv[0] if argv else ""}" for "kubeadm config"')
    f, _ = flags.parse(argv[1:], {**COMMON, "config": "str", "allow-experimental-api": "bool"}, "config validate")
    if "config" not in f:
        raise KubeadmError("missing required flag: --config")
    config.load(f["config"], {"InitConfiguration", "ClusterConfiguration", "JoinConfiguration"})
    print("ok")
    return 0


def kubeconfig_cmd(argv: list[str]) -> int:
    """`kubeadm kubeconfig user --client-name NAME [--org ORG]... [--config FILE]`: a kubeconfig with a
    client certificate signed by this node's /etc/kubernetes/pki/ca.key, on stdout; the server is the
    config's controlPlaneEndpoint (kubeadm's documented way to make a lost kubelet.conf again)."""
    if argv[:1] != ["user"]:
        raise KubeadmError(f'unknown command "{argv[0] if argv else ""}" for "kubeadm kubeconfig"')
    f, pos = flags.parse(argv[1:], {**COMMON, "client-name": "str", "org": "list", "config": "str", "token": "str", "validity-period": "str"}, "kubeconfig user")
    if pos:
        raise KubeadmError(f'unknown command "{pos[0]}" for "kubeadm kubeconfig user"')
    name = f.get("client-name")
    if not name:
        raise KubeadmError('required flag(s) "client-name" not set')
    cfg = config.load(f["config"], {"InitConfiguration", "ClusterConfiguration"}) if "config" in f else {}
    ic, cc = cfg.get("InitConfiguration", {}), cfg.get("ClusterConfiguration", {})
    ep = ic.get("localAPIEndpoint", {})
    endpoint = cc.get("controlPlaneEndpoint") or f"{ep.get('advertiseAddress') or _advertise()}:{ep.get('bindPort') or 6443}"
    if not os.path.exists(f"{paths.PKI}/ca.key"):
        raise KubeadmError(f"couldn't create a kubeconfig; the CA files couldn't be loaded: open {paths.PKI}/ca.key: no such file or directory")
    orgs = "".join(f"/O={o}" for o in f.get("org", []))
    sys.stdout.write(pki.kubeconfig(f"https://{endpoint}", name, f"{orgs}/CN={name}").decode())
    return 0
