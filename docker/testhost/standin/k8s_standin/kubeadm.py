"""`kubeadm` stand-in: init, join, reset, token, init phase upload-certs, certs certificate-key,
config validate, version. Strict about flags and config fields; see __init__.py for the scope."""
import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
import time

import yaml

from . import config, flags, paths, pki, preflight, state
from .apiserver import VERSION
from .client import ApiError, Client, from_kubeconfig
from .errors import KubeadmError

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
        raise KubeadmError('Usage:\n  kubeadm [command]\n\nAvailable Commands: init join reset token certs config version')
    cmd, rest = argv[0], argv[1:]
    if cmd == "init" and rest[:2] == ["phase", "upload-certs"]:
        return upload_certs(rest[2:])
    handlers = {"init": init, "join": join, "reset": reset, "token": token, "certs": certs, "version": version, "config": config_cmd}
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


def _start_kubelet(port: int) -> None:
    subprocess.run(["systemctl", "enable", "kubelet.service"], capture_output=True)
    r = subprocess.run(["systemctl", "restart", "kubelet.service"], capture_output=True, text=True)
    if r.returncode != 0:
        raise KubeadmError(f"error execution phase kubelet-start: {r.stderr.strip()}")
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if Client(f"https://127.0.0.1:{port}", None, timeout=2).call("GET", "/healthz") == "ok":
                return
        except ApiError:
            pass
        time.sleep(0.3)
    raise KubeadmError("error execution phase wait-control-plane: the API server did not become healthy within 30s")


def _write_control_plane(node: str, address: str, port: int, endpoint: str, sans: list[str], pod_cidr: str | None) -> None:
    pki.create_node_certs(node, address, [endpoint.rsplit(":", 1)[0], *sans])
    local = f"https://{address}:{port}"
    for name, server, user in (("admin.conf", f"https://{endpoint}", "kubernetes-admin"), ("super-admin.conf", local, "kubernetes-super-admin"),
                               ("kubelet.conf", f"https://{endpoint}", f"system:node:{node}"), ("controller-manager.conf", local, "system:kube-controller-manager"),
                               ("scheduler.conf", local, "system:kube-scheduler")):
        pki.write_file(f"{paths.K8S}/{name}", pki.kubeconfig(server, user), 0o600)
    os.makedirs(paths.MANIFESTS, exist_ok=True)
    args = {"kube-apiserver": [f"--advertise-address={address}", f"--secure-port={port}", "--client-ca-file=/etc/kubernetes/pki/ca.crt",
                               "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt", "--tls-private-key-file=/etc/kubernetes/pki/apiserver.key"],
            "kube-controller-manager": ["--kubeconfig=/etc/kubernetes/controller-manager.conf", *([f"--cluster-cidr={pod_cidr}", "--allocate-node-cidrs=true"] if pod_cidr else [])],
            "kube-scheduler": ["--kubeconfig=/etc/kubernetes/scheduler.conf"],
            "etcd": [f"--advertise-client-urls=https://{address}:2379", f"--name={node}"]}
    for comp, a in args.items():
        manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": comp, "namespace": "kube-system", "labels": {"component": comp, "tier": "control-plane"}},
                    "spec": {"hostNetwork": True, "containers": [{"name": comp, "image": f"registry.k8s.io/{comp}:{VERSION['gitVersion']}", "command": [comp, *a]}]}}
        pki.write_file(f"{paths.MANIFESTS}/{comp}.yaml", yaml.safe_dump(manifest).encode(), 0o600)


def _bundle() -> bytes:
    return json.dumps({n: base64.b64encode(pki.read(n)).decode() for n in paths.SHARED_PKI}).encode()


def init(argv: list[str]) -> int:
    f, pos = flags.parse(argv, INIT_FLAGS, "init")
    if pos:
        raise KubeadmError(f'unknown command "{pos[0]}" for "kubeadm init"')
    _mix_check(f, INIT_WITH_CONFIG)
    cfg = config.load(f["config"], {"InitConfiguration", "ClusterConfiguration"}) if "config" in f else {}
    ic, cc = cfg.get("InitConfiguration", {}), cfg.get("ClusterConfiguration", {})
    address = f.get("apiserver-advertise-address") or ic.get("localAPIEndpoint", {}).get("advertiseAddress") or _advertise()
    port = int(f.get("apiserver-bind-port") or ic.get("localAPIEndpoint", {}).get("bindPort") or 6443)
    endpoint = f.get("control-plane-endpoint") or cc.get("controlPlaneEndpoint") or f"{address}:{port}"
    if ":" not in endpoint:
        endpoint = f"{endpoint}:{port}"
    node = f.get("node-name") or ic.get("nodeRegistration", {}).get("name") or os.uname().nodename
    pod_cidr = f.get("pod-network-cidr") or cc.get("networking", {}).get("podSubnet")
    sans = [*f.get("apiserver-cert-extra-sans", []), *cc.get("apiServer", {}).get("certSANs", [])]
    cert_key = f.get("certificate-key") or ic.get("certificateKey")
    ignore = [*f.get("ignore-preflight-errors", []), *ic.get("nodeRegistration", {}).get("ignorePreflightErrors", [])]
    print("[init] Using Kubernetes version: " + (cc.get("kubernetesVersion") or f.get("kubernetes-version") or VERSION["gitVersion"]))
    print("[preflight] Running pre-flight checks")
    preflight.run("init", port, endpoint, ignore)
    print("[certs] Generating certificates in /etc/kubernetes/pki")
    pki.create_shared_pki()
    _write_control_plane(node, address, port, endpoint, sans, pod_cidr)
    s = state.empty(endpoint, pki.ca_hash(pki.read("ca.crt")))
    s["nodes"][node] = {"address": address, "controlPlane": True, "joined": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    s["members"] = [f"{address}:{port}"]
    tok = f.get("token") or state.new_token()
    state.add_token(s, tok)
    upload = bool(f.get("upload-certs"))
    if upload:
        cert_key = cert_key or secrets.token_hex(32)
        s["certs"] = {"blob": pki.encrypt(_bundle(), cert_key).decode(), "expires": time.time() + state.CERTS_TTL}
    s["version"] = 1
    state.write(s)
    state.write_node({"name": node, "address": address, "bindPort": port, "controlPlane": True, "endpoint": endpoint})
    print("[kubelet-start] Starting the kubelet")
    _start_kubelet(port)
    print("[upload-certs] Storing the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace" if upload else "[upload-certs] Skipping phase. Please see --upload-certs")
    h = s["caHash"]
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
    if not tok:
        raise KubeadmError("discovery.bootstrapToken.token: Invalid value: \"\": the bootstrap token is invalid")
    if not hashes and not unsafe:
        raise KubeadmError("discovery.bootstrapToken: Invalid value: \"\": using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue")
    if cert_key and not control_plane:
        raise KubeadmError("certificate-key: Invalid value: can only be set together with --control-plane")
    ignore = [*f.get("ignore-preflight-errors", []), *jc.get("nodeRegistration", {}).get("ignorePreflightErrors", [])]
    print("[preflight] Running pre-flight checks")
    preflight.run("join-control-plane" if control_plane else "join-worker", port, None, ignore)

    # Discovery: fetch cluster-info from the endpoint (so a wrong VIP or LB fails here), pin the CA.
    anon = Client(f"https://{endpoint}", None, timeout=5)
    deadline, last = time.time() + DISCOVERY_TIMEOUT, None
    while True:
        try:
            info = anon.call("GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info")
            break
        except ApiError as e:
            last = e
            if time.time() > deadline:
                raise KubeadmError(f"error execution phase preflight: couldn't validate the identity of the API Server: {last}")
            time.sleep(1)
    ca = base64.b64decode(yaml.safe_load(info["data"]["kubeconfig"])["clusters"][0]["cluster"]["certificate-authority-data"])
    actual = pki.ca_hash(ca)
    if not unsafe and actual not in hashes:
        raise KubeadmError(f'error execution phase preflight: couldn\'t validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "{actual}" are pinned')
    verified = Client(f"https://{endpoint}", ca, timeout=10)
    try:
        verified.call("POST", "/haprov/v1/validate-token", {"token": tok})
    except ApiError as e:
        raise KubeadmError(f"error execution phase preflight: couldn't validate the identity of the API Server: {e}")

    if control_plane:
        if cert_key:
            print("[download-certs] Downloading the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace")
            try:
                certs_blob = verified.call("GET", "/haprov/v1/kubeadm-certs", headers={"Authorization": f"Bearer {tok}"})
            except ApiError as e:
                raise KubeadmError(f"error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading the secret: {e}")
            try:
                bundle = json.loads(pki.decrypt(certs_blob["blob"].encode(), cert_key))
            except (RuntimeError, ValueError):
                raise KubeadmError("error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding secret data with provided key: cipher: message authentication failed")
            for name, data in bundle.items():
                pki.write_file(f"{paths.PKI}/{name}", base64.b64decode(data), 0o600 if name.endswith((".key",)) else 0o644)
        missing = pki.missing_shared()
        if missing:
            details = ", ".join(f"couldn't load {paths.PKI.replace(paths.ROOT, '', 1)}/{m}: open /etc/kubernetes/pki/{m}: no such file or directory" for m in missing)
            raise KubeadmError(
                "error execution phase preflight: \nOne or more conditions for hosting a new control plane instance is not satisfied.\n\n"
                f"[failure loading certificate for CA: {details}]\n\nPlease ensure that:\n"
                "* The cluster has a stable controlPlaneEndpoint address.\n* The certificates that must be shared among control plane instances are provided.\n"
            )
        if pki.ca_hash(pki.read("ca.crt")) != actual:
            raise KubeadmError("error execution phase preflight: the CA in /etc/kubernetes/pki/ca.crt is not the cluster's CA (its public-key hash differs)")
    try:
        reply = verified.call("POST", "/haprov/v1/join", {"token": tok, "node": node, "address": address, "bindPort": port, "controlPlane": control_plane})
    except ApiError as e:
        raise KubeadmError(f"error execution phase kubelet-start: {e}")
    state.write(reply["state"])
    state.write_node({"name": node, "address": address, "bindPort": port, "controlPlane": control_plane, "endpoint": endpoint})
    if control_plane:
        _write_control_plane(node, address, port, endpoint, [], None)
        print("[kubelet-start] Starting the kubelet")
        _start_kubelet(port)
        print(f"\nThis node has joined the cluster and a new control plane instance was created:\n\n* Certificate signing request was sent to apiserver and approval was received.\n* The Kubelet was informed of the new secure connection details.\n* Control plane label and taint were applied to the new node.\n* The Kubernetes control plane instances scaled up.\n* A new etcd member was added to the local/stacked etcd cluster.\n")
    else:
        os.makedirs(paths.PKI, exist_ok=True)
        pki.write_file(f"{paths.PKI}/ca.crt", ca, 0o644)
        pki.write_file(f"{paths.K8S}/kubelet.conf", f"apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {base64.b64encode(ca).decode()}\n    server: https://{endpoint}\n  name: default-cluster\n".encode(), 0o600)
        subprocess.run(["systemctl", "enable", "--now", "kubelet.service"], capture_output=True)
        print("\nThis node has joined the cluster:\n* Certificate signing request was sent to apiserver and a response was received.\n* The Kubelet was informed of the new secure connection details.\n")
    return 0


def reset(argv: list[str]) -> int:
    f, _ = flags.parse(argv, {**COMMON, "force": "bool", "f": "bool", "cri-socket": "str", "ignore-preflight-errors": "list", "cleanup-tmp-dir": "bool"}, "reset")
    if not (f.get("force") or f.get("f")):
        if not sys.stdin.isatty():
            raise KubeadmError("error execution phase preflight: won't proceed; the user didn't answer (Y|n) in order to continue")
    node = state.read_node()
    if node and os.path.exists(f"{paths.K8S}/admin.conf"):
        try:
            from_kubeconfig(f"{paths.K8S}/admin.conf").call("POST", "/haprov/v1/leave", {"node": node["name"]})
        except ApiError:
            print("[reset] Failed to remove this node from the cluster state (the endpoint did not answer)")
    subprocess.run(["systemctl", "stop", "kubelet.service"], capture_output=True)
    for d in (paths.MANIFESTS, paths.PKI):
        if os.path.isdir(d):
            for e in os.listdir(d):
                shutil.rmtree(f"{d}/{e}") if os.path.isdir(f"{d}/{e}") else os.remove(f"{d}/{e}")
    for c in paths.KUBECONFIGS:
        if os.path.exists(f"{paths.K8S}/{c}"):
            os.remove(f"{paths.K8S}/{c}")
    shutil.rmtree(paths.STATE_DIR, ignore_errors=True)
    print("[reset] Deleted contents of: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]")
    print("The reset process does not clean your kubeconfig files and you must remove them manually.\nPlease, check the contents of the $HOME/.kube/config file.")
    return 0


def _admin() -> Client:
    try:
        return from_kubeconfig(f"{paths.K8S}/admin.conf")
    except ApiError:
        raise KubeadmError("failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory")


def token(argv: list[str]) -> int:
    sub = argv[0] if argv else ""
    f, pos = flags.parse(argv[1:], {**COMMON, "print-join-command": "bool", "certificate-key": "str", "ttl": "str", "kubeconfig": "str", "description": "str", "usages": "list", "groups": "list"}, f"token {sub}")
    if sub == "create":
        ttl = _duration(f.get("ttl", "24h"))
        try:
            tok = _admin().call("POST", "/haprov/v1/tokens", {"token": pos[0] if pos else None, "ttl": ttl})["token"]
        except ApiError as e:
            raise KubeadmError(f"failed to create or update bootstrap token: {e}")
        if f.get("print-join-command"):
            s = state.read() or {}
            line = f"kubeadm join {s.get('endpoint')} --token {tok} --discovery-token-ca-cert-hash {s.get('caHash')}"
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
                _admin().call("POST", "/haprov/v1/tokens/delete", {"id": tid})
            except ApiError as e:
                raise KubeadmError(f'failed to delete bootstrap token "{tid}": {e}')
            print(f'bootstrap token "{tid}" deleted')
        return 0
    if sub == "list":
        for tid, t in sorted(_admin().call("GET", "/haprov/v1/tokens").items()):
            print(f"{tid}.<secret>   expires {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(t['expires']))}")
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
    missing = pki.missing_shared()
    if missing:
        raise KubeadmError(f"error execution phase upload-certs: error uploading certs: open /etc/kubernetes/pki/{missing[0]}: no such file or directory")
    _admin().call("POST", "/haprov/v1/upload-certs", {"blob": pki.encrypt(_bundle(), key).decode()})
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
