"""kube-vip stand-in: the control-plane ARP mode of kube-vip v1.2.3, run by the kubelet stand-in from
/etc/kubernetes/manifests/kube-vip.yaml (the image cannot be obtained here).

Strict about the manifest as kube-vip v1.2.3 reads it (docker/README.md): only its env names
(pkg/kubevip/config_envvar.go at v1.2.3), the deprecated `vip_address` refused, values checked; the
pinned image; NET_ADMIN and NET_RAW; the kubeconfig mounted at /etc/kubernetes/admin.conf, whose
server it rewrites to https://kubernetes:<port> as kube-vip does, resolved through the pod's
hostAliases only (without `kubernetes → 127.0.0.1` the lookup fails, kube-vip#692). Leader election
is client-go's on the Lease `vip_leasename` in `cp_namespace` through that API server, so RBAC
applies: with admin.conf before kubeadm's `kubeadm:cluster-admins` binding exists, every call is
403 (kube-vip#684). The leader adds the VIP to `vip_interface` and sends gratuitous ARP with the real
`arping`; a leader that cannot renew within `vip_renewdeadline` drops the VIP; SIGTERM releases the
lease (client-go's ReleaseOnCancel) and removes the VIP.

BGP mode (bgp_enable, vip_leaderelection false), as v1.2.3 runs it: no election; the VIP goes on
`vip_interface` (lo) at start; a real BGP speaker (Debian's GoBGP, gobgpd, where kube-vip embeds
GoBGP as a library) peers with every `bgp_peers` entry (`address:as:password:multihop`, parsed as
ParseBGPPeerConfig does; the password is a real TCP MD5 key) with `bgp_routerid`, `bgp_as` and the
hold/keepalive timers, never listening itself (ListenPort -1). With
`control_plane_health_check_address` the VIP/32 is announced while that URL answers 200 (verified
against `control_plane_health_check_ca_path`, which must be a file mounted into the pod) and
withdrawn after `control_plane_health_check_failure_threshold` failures; SIGTERM withdraws it."""
from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time

import yaml

from .client import ApiError, Client

IMAGE = "ghcr.io/kube-vip/kube-vip:v1.2.3"
# pkg/kubevip/config_envvar.go at v1.2.3, every name it reads.
KNOWN = set("""vip_arp vip_arpRate vip_preserve_on_leadership_loss vip_leaderelection vip_leasename
vip_leaseduration vip_renewdeadline vip_retryperiod vip_leaseannotations vip_loglevel instance_name
vip_interface vip_loseleadership vip_loseleadership_timeout_seconds vip_interfaceloglobal
vip_servicesinterface vip_allow_interface_not_up vip_subnet egress_podcidr egress_servicecidr
egress_withnftables per_service_election_on_demand egress_enableinternalsnat vip_address address port
annotation vip_ddns vip_nodename vip_singlenode vip_startleader bgp_enable bgp_attach_ip_to_interface
bgp_routerid bgp_routerinterface bgp_as bgp_peeraddress bgp_peers bgp_peeras bgp_peerpass bgp_multihop config_file
bgp_sourceif bgp_sourceip bgp_hold_time bgp_keepalive_interval control_plane_health_check_address
control_plane_health_check_period_seconds control_plane_health_check_timeout_seconds
control_plane_health_check_failure_threshold control_plane_health_check_ca_path zebra_enable zebra_url
zebra_version zebra_software_name mpbgp_nexthop vip_wireguard vip_routingtable vip_routingtableid
vip_routingtabletype vip_routingprotocol vip_cleanroutingtable vip_skipdad cp_namespace cp_enable
cp_detect kubernetes_addr svc_enable svc_namespace svc_election svc_leasename lb_class_only
lb_class_name lb_class_legacy_handling lb_enable lb_port lb_fwdmethod enable_service_security
enable_node_labeling prometheus_server dns_mode dhcp_mode dhcp_backoff_attempts disable_service_updates
enable_endpoints mirror_dest_interface iptables_backend backend_health_check_interval health_check_port
enable_upnp egress_clean config_file debounce_time""".split())
DEPRECATED = {"vip_address": "address"}
# What this stand-in simulates; a known name outside it is accepted only with its default meaning.
BOOLS = {"vip_arp", "vip_leaderelection", "cp_enable", "svc_enable", "bgp_enable"}
INTS = {"port", "vip_subnet", "vip_leaseduration", "vip_renewdeadline", "vip_retryperiod", "bgp_as",
        "bgp_hold_time", "bgp_keepalive_interval", "control_plane_health_check_period_seconds",
        "control_plane_health_check_timeout_seconds", "control_plane_health_check_failure_threshold"}
GOBGP_API = "127.0.0.1:50051"
RUN_DIR = "/run/haprov-kube-vip"


class PodError(Exception):
    pass


def log(msg: str) -> None:
    print(f'time="{datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}" level=info msg="{msg}"', file=sys.stderr, flush=True)


def settings(env: dict[str, str]) -> dict:
    """The pod's env, as kube-vip v1.2.3 would take it; a name it does not read fails the pod."""
    for k in env:
        if k in DEPRECATED:
            raise PodError(f"environment variable {k} is deprecated: use {DEPRECATED[k]}")
        if k not in KNOWN:
            raise PodError(f"environment variable {k} is not a kube-vip v1.2.3 setting")
    for k in BOOLS & env.keys():
        if env[k] not in ("true", "false"):
            raise PodError(f"{k}: expected true or false, got {env[k]!r}")
    for k in INTS & env.keys():
        if not env[k].isdigit():
            raise PodError(f"{k}: expected a whole number, got {env[k]!r}")
    s = {
        "arp": env.get("vip_arp") == "true",
        "bgp": env.get("bgp_enable") == "true",
        "cp": env.get("cp_enable") == "true",
        "election": env.get("vip_leaderelection") == "true",
        "lease": env.get("vip_leasename", "plndr-cp-lock"),
        "namespace": env.get("cp_namespace", "kube-system"),
        "duration": int(env.get("vip_leaseduration", "5")),
        "renew": int(env.get("vip_renewdeadline", "3")),
        "retry": int(env.get("vip_retryperiod", "1")),
        "interface": env.get("vip_interface", ""),
        "subnet": int(env.get("vip_subnet", "32")),
        "port": int(env.get("port", "6443")),
        "node": env.get("vip_nodename", ""),
        "address": env.get("address", ""),
    }
    if not s["cp"]:
        raise PodError("cp_enable is not true: the stand-in simulates the control-plane VIP only")
    if s["bgp"]:
        if s["arp"] or s["election"]:
            raise PodError("BGP mode: the stand-in simulates kube-vip's BGP control plane without ARP and without leader election")
        s.update(bgp_settings(env))
    else:
        if not s["arp"]:
            raise PodError("neither vip_arp nor bgp_enable: kube-vip would not advertise the VIP")
        if not s["election"]:
            raise PodError("vip_leaderelection is not true: without it every node would add the VIP")
    try:
        ipaddress.IPv4Address(s["address"])
    except ValueError:
        raise PodError(f"address: expected the VIP as an IPv4 address, got {s['address']!r}")
    if not s["node"]:
        raise PodError("vip_nodename is empty: the lease holder has no identity")
    if not (1 <= s["subnet"] <= 32):
        raise PodError(f"vip_subnet: expected 1-32, got {s['subnet']}")
    # client-go's own checks (leaderelection.NewLeaderElector)
    if s["duration"] <= s["renew"]:
        raise PodError("leaseDuration must be greater than renewDeadline")
    if s["renew"] <= 1.2 * s["retry"]:
        raise PodError("renewDeadline must be greater than retryPeriod*JitterFactor")
    if subprocess.run(["ip", "link", "show", "dev", s["interface"]], capture_output=True).returncode != 0:
        raise PodError(f"interface {s['interface']!r} not found")
    return s


def parse_peers(value: str) -> list[dict]:
    """ParseBGPPeerConfig at v1.2.3 for IPv4 peers: address:AS[:password[:multihop[:port]]], comma-separated."""
    peers = []
    for item in value.split(","):
        if not item:
            continue
        f = item.split(":")
        if len(f) < 2:
            raise PodError("mandatory peering params <host>:<AS> incomplete")
        try:
            ipaddress.IPv4Address(f[0])
        except ValueError:
            raise PodError(f"bgp_peers: {f[0]!r} is not an IPv4 address")
        if not f[1].isdigit() or not (0 < int(f[1]) < 2**32):
            raise PodError(f"BGP Peer AS format error [{f[1]}]")
        multihop = f[3] if len(f) >= 4 and f[3] else "false"
        if multihop not in ("true", "false"):
            raise PodError(f"BGP MultiHop format error (true/false) [{multihop}]")
        port = int(f[4]) if len(f) >= 5 and f[4] else 179
        peers.append({"address": f[0], "as": int(f[1]), "password": f[2] if len(f) >= 3 else "", "multihop": multihop == "true", "port": port})
    if not peers:
        raise PodError("no BGP Peer configurations found")
    return peers


def _ci(d: dict, key: str):
    """encoding/json's field matching (sigs.k8s.io/yaml decodes through it): case-insensitive."""
    return next((v for k, v in d.items() if k.lower() == key.lower()), None)


def file_peers(path_in_pod: str, mounts: dict) -> list[dict]:
    """`config_file` (MergeConfigFromFile at v1.2.3): JSON or YAML by extension, read in the pod;
    BGPConfig.Peers taken when bgp_peers is not set (a peer's Port 0 stays 0: kube-vip does not
    default it here, so a file must say 179)."""
    if not path_in_pod:
        raise PodError("no BGP Peer configurations found")
    host = mounts.get(path_in_pod)
    if not host or not os.path.isfile(host):
        raise PodError(f"config file does not exist: {path_in_pod}")
    ext = os.path.splitext(path_in_pod)[1].lower()
    if ext not in (".json", ".yaml", ".yml"):
        raise PodError(f"unsupported config file format {ext}. Supported formats: .json, .yaml, .yml")
    with open(host) as f:
        try:
            cfg = json.load(f) if ext == ".json" else yaml.safe_load(f)
        except (ValueError, yaml.YAMLError) as e:
            raise PodError(f"failed to parse config file {path_in_pod}: {e}")
    peers = []
    for p in _ci(_ci(cfg or {}, "BGPConfig") or {}, "Peers") or []:
        addr = _ci(p, "Address") or ""
        try:
            ipaddress.IPv4Address(addr)
        except ValueError:
            raise PodError(f"config file: peer address {addr!r} is not an IPv4 address")
        port = int(_ci(p, "Port") or 0)
        if port == 0:
            raise PodError(f"config file: peer {addr} has no Port (GoBGP would dial port 0)")
        peers.append({"address": addr, "as": int(_ci(p, "AS") or 0), "password": _ci(p, "Password") or "",
                      "multihop": bool(_ci(p, "MultiHop")), "port": port})
    if not peers:
        raise PodError("no BGP Peer configurations found")
    return peers


def bgp_settings(env: dict[str, str]) -> dict:
    """BGP mode's settings, checked as kube-vip and GoBGP would take them."""
    rid = env.get("bgp_routerid", "")
    try:
        ipaddress.IPv4Address(rid)
    except ValueError:
        raise PodError(f"bgp_routerid: expected an IPv4 router ID, got {rid!r}")
    if not env.get("bgp_as", "").isdigit():
        raise PodError("bgp_as is not set")
    mounts = json.loads(os.environ.get("KUBEVIP_STANDIN_MOUNTS", "{}"))
    ca = env.get("control_plane_health_check_ca_path", "")
    if ca and ca not in mounts:
        raise PodError(f'initializing BGP health check client: reading health check CA cert "{ca}": open {ca}: no such file or directory')
    return {
        "router_id": rid,
        "local_as": int(env["bgp_as"]),
        "peers": parse_peers(env["bgp_peers"]) if env.get("bgp_peers") else file_peers(env.get("config_file", ""), mounts),
        "hold": int(env.get("bgp_hold_time", "0")) or 90,  # GoBGP's defaults for 0
        "keepalive": int(env.get("bgp_keepalive_interval", "0")) or 30,
        "check_url": env.get("control_plane_health_check_address", ""),
        "check_ca": mounts.get(ca, ""),
        "check_period": int(env.get("control_plane_health_check_period_seconds", "5")),
        "check_timeout": int(env.get("control_plane_health_check_timeout_seconds", "3")),
        "check_threshold": int(env.get("control_plane_health_check_failure_threshold", "3")),
    }


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(ts: str | None) -> float:
    if not ts:
        return 0.0
    return datetime.datetime.strptime(ts.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


class Elector:
    """client-go's Lease lock, as kube-vip uses it (ReleaseOnCancel)."""

    def __init__(self, api: Client, s: dict):
        self.api, self.s = api, s
        self.path = f"/apis/coordination.k8s.io/v1/namespaces/{s['namespace']}/leases/{s['lease']}"
        self.leading = False
        self.last_renew = 0.0

    def _spec(self, old: dict | None) -> dict:
        spec = dict((old or {}).get("spec") or {})
        changed = spec.get("holderIdentity") != self.s["node"]
        spec.update({"holderIdentity": self.s["node"], "leaseDurationSeconds": self.s["duration"], "renewTime": _now()})
        if changed:
            spec["acquireTime"] = _now()
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + (1 if old else 0)
        return spec

    def try_acquire_or_renew(self) -> bool:
        try:
            lease = self.api.call("GET", self.path)
        except ApiError as e:
            if e.code != 404:
                log(f"error retrieving resource lock {self.s['namespace']}/{self.s['lease']}: {e}")
                return False
            try:
                self.api.call("POST", self.path.rsplit("/", 1)[0], {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                              "metadata": {"name": self.s["lease"], "namespace": self.s["namespace"]}, "spec": self._spec(None)})
                return True
            except ApiError as e2:
                log(f"error initially creating leader election record: {e2}")
                return False
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        expires = _parse(spec.get("renewTime")) + float(spec.get("leaseDurationSeconds") or 0)
        if holder and holder != self.s["node"] and time.time() < expires:
            return False
        lease["spec"] = self._spec(lease)
        try:
            self.api.call("PUT", self.path, lease)
            return True
        except ApiError as e:
            log(f"Failed to update lock: {e}")
            return False

    def release(self) -> None:
        try:
            lease = self.api.call("GET", self.path)
            if (lease.get("spec") or {}).get("holderIdentity") != self.s["node"]:
                return
            lease["spec"].update({"holderIdentity": "", "leaseDurationSeconds": 1, "renewTime": _now(), "acquireTime": _now()})
            self.api.call("PUT", self.path, lease)
            log("successfully released lease")
        except ApiError as e:
            log(f"Failed to release lock: {e}")


def _vip(s: dict, add: bool, arp: bool = True) -> None:
    cidr = f"{s['address']}/{s['subnet']}"
    shown = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", s["interface"]], capture_output=True, text=True).stdout
    have = f" {s['address']}/" in shown
    if add and not have:
        r = subprocess.run(["ip", "addr", "add", cidr, "dev", s["interface"]], capture_output=True, text=True)
        if r.returncode != 0:
            log(f"could not add VIP {cidr}: {r.stderr.strip()}")
            return
        if not arp:
            log(f"added VIP {cidr} to {s['interface']}")
            return
        log(f"Gratuitous Arp broadcast will repeat every 3 seconds for [{s['address']}/{s['interface']}]")
        subprocess.Popen(["arping", "-U", "-c", "3", "-I", s["interface"], s["address"]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elif not add and have:
        subprocess.run(["ip", "addr", "del", cidr, "dev", s["interface"]], capture_output=True)
        log(f"removed VIP {cidr} from {s['interface']}")


def pod_check() -> None:
    """What the kubelet would refuse or the container would fail on, before kube-vip runs."""
    image = os.environ.get("KUBEVIP_STANDIN_IMAGE", "")
    if image != IMAGE:
        raise PodError(f'Failed to pull image "{image}": the lab has only {IMAGE} (ErrImagePull)')
    caps = set(json.loads(os.environ.get("KUBEVIP_STANDIN_CAPS", "[]")))
    if not {"NET_ADMIN", "NET_RAW"} <= caps:
        raise PodError(f"securityContext.capabilities.add is {sorted(caps)}: kube-vip needs NET_ADMIN and NET_RAW (operation not permitted)")


def use_pod_resolver() -> None:
    """The pod's /etc/hosts: hostAliases only, then DNS (the host's /etc/hosts is not the pod's)."""
    aliases = json.loads(os.environ.get("KUBEVIP_STANDIN_HOSTALIASES", "{}"))
    real = socket.getaddrinfo

    def resolve(host, *args, **kw):
        if host in aliases:
            return real(aliases[host], *args, **kw)
        if host == "kubernetes":
            raise socket.gaierror("lookup kubernetes on the pod's resolver: no such host")
        return real(host, *args, **kw)

    socket.getaddrinfo = resolve


class Speaker:
    """kube-vip's embedded GoBGP server, here a real gobgpd: peers dialled out, never listening."""

    def __init__(self, s: dict):
        self.s = s
        self.announced = False
        os.makedirs(RUN_DIR, mode=0o700, exist_ok=True)
        conf = f"{RUN_DIR}/gobgpd.toml"
        lines = ["[global.config]", f"  as = {s['local_as']}", f'  router-id = "{s["router_id"]}"', "  port = -1", ""]
        for p in s["peers"]:
            lines += ["[[neighbors]]", "  [neighbors.config]", f'    neighbor-address = "{p["address"]}"', f"    peer-as = {p['as']}"]
            if p["password"]:
                lines.append(f'    auth-password = "{p["password"]}"')
            lines += ["  [neighbors.timers.config]", "    connect-retry = 10", f"    hold-time = {s['hold']}",
                      f"    keepalive-interval = {s['keepalive']}", "  [neighbors.transport.config]", f"    remote-port = {p['port']}"]
            if p["multihop"]:
                lines += ["  [neighbors.ebgp-multihop.config]", "    enabled = true", "    multihop-ttl = 50"]
            lines.append("")
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines))
        self.proc = subprocess.Popen(["gobgpd", "-f", conf, "-t", "toml", "-p", "--api-hosts", GOBGP_API, "--pprof-disable"],
                                     stdout=sys.stderr, stderr=sys.stderr)
        log(f"Starting the BGP server to advertise VIP routes to BGP peers ({len(s['peers'])} peers, router ID {s['router_id']}, AS {s['local_as']})")

    def _rib(self, op: str) -> bool:
        host, port = GOBGP_API.split(":")
        for _ in range(50):  # gobgpd's API takes a moment to come up
            r = subprocess.run(["gobgp", "-u", host, "-p", port, "global", "rib", op, "-a", "ipv4", f"{self.s['address']}/32"],
                               capture_output=True, text=True)
            if r.returncode == 0:
                return True
            time.sleep(0.2)
        log(f"gobgp rib {op}: {r.stderr.strip()}")
        return False

    def announce(self) -> None:
        if not self.announced and self._rib("add"):
            self.announced = True
            log(f"BGP health check passed, announcing route {self.s['address']}/32")

    def withdraw(self, why: str) -> None:
        if self.announced and self._rib("del"):
            self.announced = False
            log(f"{why}, withdrawing route {self.s['address']}/32")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def healthy(s: dict) -> bool:
    import ssl
    import urllib.request
    try:
        ctx = ssl.create_default_context(cafile=s["check_ca"] or None)
        with urllib.request.urlopen(s["check_url"], timeout=s["check_timeout"], context=ctx) as r:
            return r.status == 200
    except Exception as e:  # noqa: BLE001 - kube-vip logs every failure the same way
        log(f"BGP health check failed: {e}")
        return False


def run_bgp(s: dict, stopping) -> int:
    """BGP mode's loop: the VIP on lo at once, the route announced while the health check passes."""
    use_pod_resolver()
    _vip(s, True, arp=False)
    speaker = Speaker(s)
    failures = 0
    try:
        while not stopping():
            if not s["check_url"] or healthy(s):
                failures = 0
                speaker.announce()
            else:
                failures += 1
                if failures >= s["check_threshold"]:
                    speaker.withdraw("BGP health check threshold reached")
            for _ in range(s["check_period"] * 10):
                if stopping() or speaker.proc.poll() is not None:
                    break
                time.sleep(0.1)
            if speaker.proc.poll() is not None:
                log(f"gobgpd exited with {speaker.proc.returncode}")
                return 1
        speaker.withdraw("shutting down")
    finally:
        speaker.stop()
        _vip(s, False)
    return 0


def api_client(port: int) -> Client:
    """admin.conf inside the pod (the volume's hostPath), server rewritten to kubernetes:<port>."""
    path = os.environ.get("KUBEVIP_STANDIN_KUBECONFIG", "")
    if not path:
        raise PodError("no volume is mounted at /etc/kubernetes/admin.conf")
    use_pod_resolver()
    with open(path) as f:
        cfg = yaml.safe_load(f)
    cluster, user = cfg["clusters"][0]["cluster"], cfg["users"][0]["user"]
    return Client(f"https://kubernetes:{port}", base64.b64decode(cluster["certificate-authority-data"]),
                  base64.b64decode(user["client-certificate-data"]), base64.b64decode(user["client-key-data"]), timeout=5)


def _process_name(name: bytes) -> None:
    """The process is seen as the real one is (comm "kube-vip", as `pgrep -x kube-vip` finds the
    container's process on a node), not as python3."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(15, name, 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def main() -> int:
    _process_name(b"kube-vip")
    env = {k[len("KUBEVIP_ENV_"):]: v for k, v in os.environ.items() if k.startswith("KUBEVIP_ENV_")}
    try:
        pod_check()
        s = settings(env)
        api = api_client(s["port"])
    except (PodError, OSError, KeyError, yaml.YAMLError) as e:
        log(f"kube-vip stand-in: {e}")
        return 1
    log(f"Starting kube-vip.io [v1.2.3] (stand-in), node {s['node']}, VIP {s['address']} on {s['interface']}")
    elector = Elector(api, s)  # unused in BGP mode; built anyway, as kube-vip builds its client
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if s["bgp"]:
        return run_bgp(s, lambda: stopping)
    _vip(s, False)  # a VIP left behind by a killed instance is not ours until we lead
    log(f"beginning cluster membership, namespace [{s['namespace']}], lock name [{s['lease']}], id [{s['node']}]")
    while not stopping:
        ok = elector.try_acquire_or_renew()
        now = time.time()
        if ok:
            elector.last_renew = now
            if not elector.leading:
                elector.leading = True
                log(f"successfully acquired lease {s['namespace']}/{s['lease']}")
                log(f"Node [{s['node']}] is assuming leadership of the cluster")
            _vip(s, True)
        elif elector.leading and now - elector.last_renew > s["renew"]:
            elector.leading = False
            log(f"failed to renew lease {s['namespace']}/{s['lease']}: timed out waiting for the condition")
            log("This node is no longer leading: removing the VIP")
            _vip(s, False)
        for _ in range(int(s["retry"] * 10)):
            if stopping:
                break
            time.sleep(0.1)
    if elector.leading:
        _vip(s, False)
        elector.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
