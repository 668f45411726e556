"""Unit tests of the stand-in's own logic (flags, config strictness, preflight, PKI, tokens, patches, RBAC, discovery, kubelet).
Run inside the test-host image (it has python3-yaml and openssl):
  docker run --rm -v "$PWD/docker/testhost/standin:/s:ro" -w /s haprov-testhost python3 -m unittest discover -s tests -v
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = tempfile.mkdtemp(prefix="standin-root-")
PROC = tempfile.mkdtemp(prefix="standin-proc-")
os.environ["HAPROV_STANDIN_ROOT"] = ROOT
os.environ["HAPROV_STANDIN_PROC_SYS"] = PROC
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from k8s_standin import apiserver, config, etcd, flags, kube_vip, kubelet, patch, paths, pki, preflight, rbac, resources, state  # noqa: E402
from k8s_standin.errors import KubeadmError  # noqa: E402
from k8s_standin.store import ApiStatus  # noqa: E402


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


class Flags(unittest.TestCase):
    SPEC = {"config": "str", "upload-certs": "bool", "ignore-preflight-errors": "list", "v": "str"}

    def test_forms(self):
        f, pos = flags.parse(["--config=a.yaml", "--upload-certs", "--ignore-preflight-errors", "Swap,Port-6443", "x", "-v=5"], self.SPEC, "init")
        self.assertEqual(f, {"config": "a.yaml", "upload-certs": True, "ignore-preflight-errors": ["Swap", "Port-6443"], "v": "5"})
        self.assertEqual(pos, ["x"])

    def test_unknown_flag_is_an_error(self):
        with self.assertRaisesRegex(KubeadmError, "unknown flag: --nope"):
            flags.parse(["--nope"], self.SPEC, "init")

    def test_missing_argument(self):
        with self.assertRaisesRegex(KubeadmError, "flag needs an argument: --config"):
            flags.parse(["--config"], self.SPEC, "init")


class Config(unittest.TestCase):
    def load(self, text, allowed=("InitConfiguration", "ClusterConfiguration")):
        path = os.path.join(ROOT, "cfg.yaml")
        write(path, text)
        return config.load(path, set(allowed))

    def test_v1beta4_lists_and_v1beta3_maps(self):
        ok = self.load("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n  - {name: node-ip, value: 10.0.0.1}\n")
        self.assertEqual(ok["InitConfiguration"]["_version"], "v1beta4")
        with self.assertRaisesRegex(KubeadmError, "expected a list of"):
            self.load("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs: {node-ip: 10.0.0.1}\n")
        self.load("apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nnodeRegistration:\n  kubeletExtraArgs: {node-ip: 10.0.0.1}\n")

    def test_unknown_and_version_specific_fields(self):
        with self.assertRaisesRegex(KubeadmError, 'unknown field "networking.podCIDR"'):
            self.load("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nnetworking: {podCIDR: 10.244.0.0/16}\n")
        with self.assertRaisesRegex(KubeadmError, 'unknown field "apiServer.timeoutForControlPlane"'):
            self.load("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer: {timeoutForControlPlane: 4m}\n")
        with self.assertRaisesRegex(KubeadmError, 'unknown field "timeouts"'):
            self.load("apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\ntimeouts: {}\n")

    def test_wrong_group_version_and_kind(self):
        with self.assertRaisesRegex(KubeadmError, 'no kind "InitConfiguration" is registered for version "kubeadm.k8s.io/v1beta2"'):
            self.load("apiVersion: kubeadm.k8s.io/v1beta2\nkind: InitConfiguration\n")
        with self.assertRaisesRegex(KubeadmError, "not allowed here"):
            self.load("apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n")

    def test_kubelet_configuration_passes_through(self):
        out = self.load("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n")
        self.assertIn("KubeletConfiguration", out)


class Preflight(unittest.TestCase):
    def setUp(self):
        write(f"{PROC}/net/ipv4/ip_forward", "1\n")
        write(f"{PROC}/net/bridge/bridge-nf-call-iptables", "1\n")

    def test_ip_forward_off_is_fatal_unless_ignored(self):
        write(f"{PROC}/net/ipv4/ip_forward", "0\n")
        with self.assertRaisesRegex(KubeadmError, r"\[ERROR FileContent--proc-sys-net-ipv4-ip_forward\]: .* contents are not set to 1"):
            preflight.run("init", 16443, None, [])
        preflight.run("init", 16443, None, ["FileContent--proc-sys-net-ipv4-ip_forward"])
        preflight.run("init", 16443, None, ["all"])

    def test_non_empty_manifests_and_existing_kubelet_conf(self):
        write(f"{paths.MANIFESTS}/kube-apiserver.yaml", "x")
        try:
            with self.assertRaisesRegex(KubeadmError, "FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml"):
                preflight.run("init", 16443, None, [])
        finally:
            os.remove(f"{paths.MANIFESTS}/kube-apiserver.yaml")
        write(f"{paths.K8S}/kubelet.conf", "x")
        try:
            with self.assertRaisesRegex(KubeadmError, "FileAvailable--etc-kubernetes-kubelet.conf"):
                preflight.run("join-worker", 16443, None, [])
        finally:
            os.remove(f"{paths.K8S}/kubelet.conf")

    def test_unresolvable_endpoint(self):
        with self.assertRaisesRegex(KubeadmError, 'unable to resolve control-plane endpoint "no-such-host.invalid:6443"'):
            preflight.run("init", 16443, "no-such-host.invalid:6443", [])


class Pki(unittest.TestCase):
    def test_ca_hash_matches_openssl_pipeline(self):
        _key, cert = pki.new_ca("test-ca")
        path = os.path.join(ROOT, "ca.crt")
        with open(path, "wb") as f:
            f.write(cert)
        want = subprocess.run(f"openssl x509 -pubkey -noout -in {path} | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1",
                              shell=True, capture_output=True, text=True).stdout.strip()
        self.assertEqual(pki.ca_hash(cert), "sha256:" + want)

    def test_certificate_key_round_trip_and_wrong_key(self):
        key = "ab" * 32
        blob = pki.encrypt(b'{"ca.key": "secret"}', key)
        self.assertEqual(pki.decrypt(blob, key), b'{"ca.key": "secret"}')
        with self.assertRaises(RuntimeError):
            pki.decrypt(blob, "cd" * 32)


class Tokens(unittest.TestCase):
    def test_new_token_format(self):
        self.assertRegex(state.new_token(), r"^[a-z0-9]{6}\.[a-z0-9]{16}$")

    def test_cluster_info_signature_is_hs256_over_the_kubeconfig_with_the_token_secret(self):
        content = "apiVersion: v1\nclusters: []\n"
        sig = apiserver.jws_detached(content, "abcdef", "0123456789abcdef")
        header, empty, mac = sig.split(".")
        self.assertEqual(empty, "")  # detached: no payload
        self.assertEqual(json.loads(base64.urlsafe_b64decode(header + "==")), {"alg": "HS256", "kid": "abcdef"})
        payload = base64.urlsafe_b64encode(content.encode()).rstrip(b"=").decode()
        want = subprocess.run(["openssl", "dgst", "-sha256", "-binary", "-hmac", "0123456789abcdef"], input=f"{header}.{payload}".encode(), capture_output=True).stdout
        self.assertEqual(base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4)), want)
        self.assertNotEqual(sig, apiserver.jws_detached(content, "abcdef", "0123456789abcdeX"))


class StrategicMerge(unittest.TestCase):
    def test_containers_merge_by_name_and_maps_merge(self):
        cur = {"spec": {"containers": [{"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]}, {"name": "b", "image": "b:1"}]}, "data": {"k": "v", "gone": "x"}}
        out = patch.strategic_merge(cur, {"spec": {"containers": [{"name": "a", "image": "a:2"}]}, "data": {"gone": None, "new": "y"}})
        self.assertEqual([c["image"] for c in out["spec"]["containers"]], ["a:2", "b:1"])
        self.assertEqual(out["spec"]["containers"][0]["env"], [{"name": "X", "value": "1"}])
        self.assertEqual(out["data"], {"k": "v", "new": "y"})

    def test_directives_kubectl_sends(self):
        cur = {"spec": {"containers": [{"name": "a"}, {"name": "b"}], "args": ["x", "y"], "finalizers": ["f1"]}}
        out = patch.strategic_merge(cur, {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "c"}, {"name": "a"}],
                                                   "containers": [{"name": "c"}, {"name": "a", "$patch": "delete"}], "args": ["z"]}})
        self.assertEqual([c["name"] for c in out["spec"]["containers"]], ["b", "c"])
        self.assertEqual(out["spec"]["args"], ["z"])  # no merge key: replaced
        self.assertEqual(patch.strategic_merge({"m": {"a": 1, "b": 2}}, {"m": {"$patch": "replace", "c": 3}}), {"m": {"c": 3}})
        self.assertEqual(patch.strategic_merge({"f": ["a", "b"]}, {"$deleteFromPrimitiveList/f": ["a"]}), {"f": ["b"]})

    def test_merge_and_json_patch(self):
        self.assertEqual(patch.apply("application/merge-patch+json", {"a": {"b": 1, "c": 2}}, {"a": {"b": None}}), {"a": {"c": 2}})
        self.assertEqual(patch.apply("application/json-patch+json", {"a": [1]}, [{"op": "add", "path": "/a/-", "value": 2}]), {"a": [1, 2]})
        with self.assertRaises(ApiStatus) as e:
            patch.apply("application/apply-patch+yaml", {}, {})
        self.assertEqual(e.exception.code, 415)


class FakeStore:
    def __init__(self, objects):
        self.objects = objects

    def list(self, r, ns, serializable=False):
        return [o for o in self.objects if o["kind"] == r.kind], 1


class Rbac(unittest.TestCase):
    LEASES = resources.BY_PATH[("coordination.k8s.io", "v1", "leases")]
    ADMIN = rbac.User("kubernetes-admin", ["kubeadm:cluster-admins", "system:authenticated"])

    def authz(self, objects):
        return rbac.Authorizer(FakeStore(objects), ttl=0)

    def test_admin_conf_has_no_rights_until_the_kubeadm_binding_exists(self):
        req = rbac.Request("get", self.LEASES, "kube-system", "plndr-cp-lock")
        self.assertFalse(self.authz([]).allowed(self.ADMIN, req))
        self.assertEqual(str(rbac.forbidden(self.ADMIN, req)),
                         'leases.coordination.k8s.io "plndr-cp-lock" is forbidden: User "kubernetes-admin" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "kube-system"')
        crb = {"kind": "ClusterRoleBinding", "metadata": {"name": "kubeadm:cluster-admins"}, "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
               "subjects": [{"kind": "Group", "name": "kubeadm:cluster-admins"}]}
        self.assertTrue(self.authz([crb]).allowed(self.ADMIN, req))

    def test_system_masters_bypasses_rbac_and_anonymous_sees_only_public_info(self):
        su = rbac.User("kubernetes-super-admin", ["system:masters", "system:authenticated"])
        self.assertTrue(self.authz([]).allowed(su, rbac.Request("delete", self.LEASES, "x", "y")))
        a = self.authz([])
        self.assertTrue(a.allowed(rbac.ANONYMOUS, rbac.Request("get", path="/readyz")))
        self.assertFalse(a.allowed(rbac.ANONYMOUS, rbac.Request("get", path="/api")))
        self.assertEqual(str(rbac.forbidden(rbac.ANONYMOUS, rbac.Request("get", path="/api"))), 'forbidden: User "system:anonymous" cannot get path "/api"')

    def test_role_binding_with_resource_names(self):
        secrets = resources.BY_PATH[("", "v1", "secrets")]
        role = {"kind": "Role", "metadata": {"name": "kubeadm:kubeadm-certs", "namespace": "kube-system"},
                "rules": [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["kubeadm-certs"], "verbs": ["get"]}]}
        rb = {"kind": "RoleBinding", "metadata": {"name": "kubeadm:kubeadm-certs", "namespace": "kube-system"}, "roleRef": {"kind": "Role", "name": "kubeadm:kubeadm-certs"},
              "subjects": [{"kind": "Group", "name": "system:bootstrappers:kubeadm:default-node-token"}]}
        a = self.authz([role, rb])
        boot = rbac.User("system:bootstrap:abcdef", ["system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token", "system:authenticated"])
        self.assertTrue(a.allowed(boot, rbac.Request("get", secrets, "kube-system", "kubeadm-certs")))
        self.assertFalse(a.allowed(boot, rbac.Request("get", secrets, "kube-system", "other")))
        self.assertFalse(a.allowed(boot, rbac.Request("get", secrets, "default", "kubeadm-certs")))
        self.assertFalse(a.allowed(boot, rbac.Request("list", secrets, "kube-system")))


class Discovery(unittest.TestCase):
    def test_aggregated_and_legacy_agree(self):
        agg = resources.aggregated(False, "apidiscovery.k8s.io/v2")
        names = {i["metadata"]["name"] for i in agg["items"]}
        self.assertEqual(names, {g["name"] for g in resources.group_list()["groups"]})
        core = resources.aggregated(True, "apidiscovery.k8s.io/v2")["items"][0]["versions"][0]["resources"]
        self.assertEqual({r["resource"] for r in core}, {r["name"] for r in resources.resource_list("", "v1")["resources"]})

    def test_openapi_declares_field_validation_for_every_patch(self):
        doc = resources.openapi_gv("apps", "v1")
        patches = [p["patch"] for p in doc["paths"].values() if "patch" in p]
        self.assertTrue(patches)
        self.assertTrue(all(any(q["name"] == "fieldValidation" for q in p["parameters"]) for p in patches))
        self.assertIsNone(resources.openapi_gv("nope", "v1"))

    def test_etcd_keys_follow_kube_apiserver(self):
        self.assertEqual(resources.BY_PATH[("", "v1", "nodes")].etcd_key(None, "cp1"), "/registry/minions/cp1")
        self.assertEqual(self.LEASES_KEY, "/registry/leases/kube-system/plndr-cp-lock")
        self.assertEqual(etcd.prefix_end("/registry/leases/"), base64.b64encode(b"/registry/leases0").decode())

    LEASES_KEY = resources.BY_PATH[("coordination.k8s.io", "v1", "leases")].etcd_key("kube-system", "plndr-cp-lock")


class Kubelet(unittest.TestCase):
    def test_reads_runnable_static_pods_only(self):
        write(f"{paths.MANIFESTS}/etcd.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: etcd}\nspec:\n  containers:\n  - name: etcd\n    command: [etcd, --name=cp1]\n")
        write(f"{paths.MANIFESTS}/kube-scheduler.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: kube-scheduler}\nspec:\n  containers:\n  - name: s\n    command: [kube-scheduler]\n")
        write(f"{paths.MANIFESTS}/broken.yaml", ":\n- [")
        try:
            pods = kubelet.read_manifests()
            self.assertEqual(list(pods), ["etcd"])
            self.assertEqual(pods["etcd"][0], ["etcd", "--name=cp1"])
        finally:
            for f in ("etcd.yaml", "kube-scheduler.yaml", "broken.yaml"):
                os.remove(f"{paths.MANIFESTS}/{f}")

    def test_a_used_etcd_data_dir_fails_preflight(self):
        write(f"{PROC}/net/ipv4/ip_forward", "1\n")
        write(f"{PROC}/net/bridge/bridge-nf-call-iptables", "1\n")
        write(f"{paths.ETCD_DATA}/member/snap/db", "x")
        try:
            with self.assertRaisesRegex(KubeadmError, r"\[ERROR DirAvailable--var-lib-etcd\]: /var/lib/etcd is not empty"):
                preflight.run("init", 16443, None, [], local_etcd=True)
            preflight.run("init", 16443, None, [], local_etcd=False)  # external etcd: not checked
        finally:
            import shutil
            shutil.rmtree(paths.ETCD_DATA)


class KubeVip(unittest.TestCase):
    ENV = {"vip_arp": "true", "port": "6443", "vip_nodename": "cp1", "vip_interface": "lo", "vip_subnet": "32",
           "cp_enable": "true", "cp_namespace": "kube-system", "vip_leaderelection": "true", "vip_leasename": "plndr-cp-lock",
           "vip_leaseduration": "15", "vip_renewdeadline": "10", "vip_retryperiod": "2", "address": "10.0.0.100"}

    def test_the_manifest_haprov_renders_is_accepted(self):
        s = kube_vip.settings(dict(self.ENV))
        self.assertEqual((s["address"], s["lease"], s["duration"], s["renew"], s["retry"]), ("10.0.0.100", "plndr-cp-lock", 15, 10, 2))

    def test_unknown_and_deprecated_names_fail_the_pod(self):
        with self.assertRaisesRegex(kube_vip.PodError, "vip_cidr is not a kube-vip v1.2.3 setting"):
            kube_vip.settings({**self.ENV, "vip_cidr": "32"})
        with self.assertRaisesRegex(kube_vip.PodError, "vip_address is deprecated: use address"):
            kube_vip.settings({**self.ENV, "vip_address": "10.0.0.100"})

    def test_client_go_lease_rules_and_values(self):
        with self.assertRaisesRegex(kube_vip.PodError, "leaseDuration must be greater than renewDeadline"):
            kube_vip.settings({**self.ENV, "vip_leaseduration": "10"})
        with self.assertRaisesRegex(kube_vip.PodError, "vip_arp: expected true or false"):
            kube_vip.settings({**self.ENV, "vip_arp": "yes"})
        with self.assertRaisesRegex(kube_vip.PodError, "interface 'nope0' not found"):
            kube_vip.settings({**self.ENV, "vip_interface": "nope0"})

    def test_the_kubelet_passes_the_pod_as_kube_vip_reads_it(self):
        pod = {"metadata": {"name": "kube-vip"}, "spec": {
            "hostAliases": [{"ip": "127.0.0.1", "hostnames": ["kubernetes"]}],
            "containers": [{"image": kube_vip.IMAGE, "env": [{"name": "vip_nodename", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                                                           {"name": "address", "value": "10.0.0.100"}],
                            "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}},
                            "volumeMounts": [{"name": "kubeconfig", "mountPath": "/etc/kubernetes/admin.conf"}]}],
            "volumes": [{"name": "kubeconfig", "hostPath": {"path": "/etc/kubernetes/super-admin.conf"}}]}}
        env = dict(kv.split("=", 1) for kv in kubelet.pod_env(pod))
        self.assertEqual(env["KUBEVIP_ENV_address"], "10.0.0.100")
        self.assertTrue(env["KUBEVIP_ENV_vip_nodename"])
        self.assertEqual(env["KUBEVIP_STANDIN_KUBECONFIG"], "/etc/kubernetes/super-admin.conf")
        self.assertEqual(json.loads(env["KUBEVIP_STANDIN_HOSTALIASES"]), {"kubernetes": "127.0.0.1"})
        self.assertEqual(json.loads(env["KUBEVIP_STANDIN_CAPS"]), ["NET_ADMIN", "NET_RAW"])


    BGP = {**{k: v for k, v in ENV.items() if not k.startswith("vip_lease") and k not in ("vip_renewdeadline", "vip_retryperiod")},
           "vip_arp": "false", "vip_leaderelection": "false", "bgp_enable": "true", "bgp_routerid": "10.0.0.11",
           "bgp_as": "65001", "bgp_peers": "10.0.0.1:65000:s3cret-md5:false,10.0.0.2:65000::true",
           "bgp_hold_time": "9", "bgp_keepalive_interval": "3"}

    def test_bgp_mode_is_taken_as_kube_vip_parses_it(self):
        s = kube_vip.settings(dict(self.BGP))
        self.assertEqual((s["router_id"], s["local_as"], s["hold"], s["keepalive"]), ("10.0.0.11", 65001, 9, 3))
        self.assertEqual([(p["address"], p["as"], p["password"], p["multihop"]) for p in s["peers"]],
                         [("10.0.0.1", 65000, "s3cret-md5", False), ("10.0.0.2", 65000, "", True)])

    def test_bgp_mode_refuses_what_kube_vip_would(self):
        with self.assertRaisesRegex(kube_vip.PodError, "without leader election"):
            kube_vip.settings({**self.BGP, "vip_leaderelection": "true"})
        with self.assertRaisesRegex(kube_vip.PodError, "BGP Peer AS format error"):
            kube_vip.settings({**self.BGP, "bgp_peers": "10.0.0.1:as65000"})
        with self.assertRaisesRegex(kube_vip.PodError, "BGP MultiHop format error"):
            kube_vip.settings({**self.BGP, "bgp_peers": "10.0.0.1:65000:pw:yes"})
        with self.assertRaisesRegex(kube_vip.PodError, "bgp_routerid"):
            kube_vip.settings({**self.BGP, "bgp_routerid": ""})
        with self.assertRaisesRegex(kube_vip.PodError, "reading health check CA cert"):
            kube_vip.settings({**self.BGP, "control_plane_health_check_ca_path": "/etc/kubernetes/pki/ca.crt"})

    def test_bgp_peers_from_the_config_file_when_bgp_peers_is_not_set(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            f = os.path.join(d, "peers.json")
            with open(f, "w") as fh:
                json.dump({"BGPConfig": {"Peers": [{"Address": "10.0.0.1", "Port": 179, "AS": 65000, "Password": "s3cret-md5", "MultiHop": False}]}}, fh)
            env = {k: v for k, v in self.BGP.items() if k != "bgp_peers"}
            os.environ["KUBEVIP_STANDIN_MOUNTS"] = json.dumps({"/etc/kube-vip/bgp-peers.json": f})
            try:
                s = kube_vip.settings({**env, "config_file": "/etc/kube-vip/bgp-peers.json"})
                self.assertEqual([(p["address"], p["as"], p["password"], p["port"]) for p in s["peers"]], [("10.0.0.1", 65000, "s3cret-md5", 179)])
                # field names as encoding/json matches them: case-insensitive
                with open(f, "w") as fh:
                    json.dump({"bgpconfig": {"peers": [{"address": "10.0.0.2", "port": 179, "as": 65000}]}}, fh)
                self.assertEqual(kube_vip.settings({**env, "config_file": "/etc/kube-vip/bgp-peers.json"})["peers"][0]["address"], "10.0.0.2")
                with self.assertRaisesRegex(kube_vip.PodError, "config file does not exist"):
                    kube_vip.settings({**env, "config_file": "/etc/kube-vip/other.json"})
                with open(f, "w") as fh:
                    json.dump({"BGPConfig": {"Peers": [{"Address": "10.0.0.1", "AS": 65000}]}}, fh)
                with self.assertRaisesRegex(kube_vip.PodError, "has no Port"):
                    kube_vip.settings({**env, "config_file": "/etc/kube-vip/bgp-peers.json"})
            finally:
                os.environ.pop("KUBEVIP_STANDIN_MOUNTS", None)


if __name__ == "__main__":
    unittest.main()
