"""Unit tests of the kubeadm stand-in's own logic (flags, config strictness, preflight, PKI, state).
Run inside the test-host image (it has python3-yaml and openssl):
  docker run --rm -v "$PWD/docker/testhost/standin:/s:ro" -w /s haprov-testhost python3 -m unittest discover -s tests -v
"""
import os
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = tempfile.mkdtemp(prefix="standin-root-")
PROC = tempfile.mkdtemp(prefix="standin-proc-")
os.environ["HAPROV_STANDIN_ROOT"] = ROOT
os.environ["HAPROV_STANDIN_PROC_SYS"] = PROC
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from k8s_standin import config, flags, paths, pki, preflight, state  # noqa: E402
from k8s_standin.errors import KubeadmError  # noqa: E402


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


class State(unittest.TestCase):
    def test_tokens_expire(self):
        s = state.empty("10.0.0.100:8443", "sha256:x")
        state.add_token(s, "abcdef.0123456789abcdef", ttl=60)
        self.assertTrue(state.token_valid(s, "abcdef.0123456789abcdef"))
        self.assertFalse(state.token_valid(s, "abcdef.0123456789abcdeX"))
        self.assertFalse(state.token_valid(s, "garbage"))
        s["tokens"]["abcdef"]["expires"] = time.time() - 1
        self.assertFalse(state.token_valid(s, "abcdef.0123456789abcdef"))

    def test_new_token_format(self):
        self.assertRegex(state.new_token(), r"^[a-z0-9]{6}\.[a-z0-9]{16}$")


if __name__ == "__main__":
    unittest.main()
