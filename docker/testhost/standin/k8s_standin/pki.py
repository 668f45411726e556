"""Real keys and certificates, made with the openssl CLI (the image has no Python crypto library)."""
import base64
import hashlib
import os
import subprocess
import tempfile

from . import paths


def _openssl(*args: str, stdin: bytes | None = None) -> bytes:
    r = subprocess.run(["openssl", *args], input=stdin, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {r.stderr.decode().strip()}")
    return r.stdout


def _write(path: str, data: bytes, mode: int) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def new_key() -> bytes:
    return _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048")


def new_ca(cn: str) -> tuple[bytes, bytes]:
    key = new_key()
    with tempfile.NamedTemporaryFile() as k:
        k.write(key)
        k.flush()
        cert = _openssl("req", "-x509", "-new", "-key", k.name, "-subj", f"/CN={cn}", "-days", "3650",
                        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature")
    return key, cert


def sign(ca_key: bytes, ca_cert: bytes, subject: str, sans: list[str] | None, client: bool, server: bool | None = None) -> tuple[bytes, bytes]:
    """A key pair signed by the CA; client and/or server usage (etcd's server and peer certs have both)."""
    server = (not client) if server is None else server
    key = new_key()
    with tempfile.TemporaryDirectory() as d:
        for name, data in (("k", key), ("cak", ca_key), ("cac", ca_cert)):
            with open(f"{d}/{name}", "wb") as f:
                f.write(data)
        csr = _openssl("req", "-new", "-key", f"{d}/k", "-subj", subject)
        ext = ["keyUsage=critical,digitalSignature,keyEncipherment",
               "extendedKeyUsage=" + ",".join(u for u, on in (("serverAuth", server), ("clientAuth", client)) if on)]
        if sans:
            ext.append("subjectAltName=" + ",".join(("IP:" if _is_ip(s) else "DNS:") + s for s in sans))
        with open(f"{d}/ext", "w") as f:
            f.write("\n".join(ext) + "\n")
        cert = _openssl("x509", "-req", "-CA", f"{d}/cac", "-CAkey", f"{d}/cak", "-CAcreateserial", "-days", "365",
                        "-extfile", f"{d}/ext", stdin=csr)
    return key, cert


def _is_ip(s: str) -> bool:
    parts = s.split(".")
    return (len(parts) == 4 and all(x.isdigit() for x in parts)) or ":" in s


def ca_hash(ca_cert_pem: bytes) -> str:
    """kubeadm's --discovery-token-ca-cert-hash: sha256 of the CA's SubjectPublicKeyInfo (DER)."""
    pub = _openssl("x509", "-pubkey", "-noout", stdin=ca_cert_pem)
    der = _openssl("pkey", "-pubin", "-outform", "der", stdin=pub)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def create_shared_pki(local_etcd: bool = True) -> None:
    """What `kubeadm init` creates once per cluster and joining control planes must share (with
    external etcd, the etcd CA is the operator's, not made here)."""
    for base, cn in (("ca", "kubernetes"), ("front-proxy-ca", "front-proxy-ca"), *((("etcd/ca", "etcd-ca"),) if local_etcd else ())):
        key, cert = new_ca(cn)
        _write(f"{paths.PKI}/{base}.key", key, 0o600)
        _write(f"{paths.PKI}/{base}.crt", cert, 0o644)
    sa = new_key()
    _write(f"{paths.PKI}/sa.key", sa, 0o600)
    _write(f"{paths.PKI}/sa.pub", _openssl("pkey", "-pubout", stdin=sa), 0o644)


def read(name: str) -> bytes:
    with open(f"{paths.PKI}/{name}", "rb") as f:
        return f.read()


def missing_shared(local_etcd: bool = True) -> list[str]:
    return [n for n in paths.shared_pki(local_etcd) if not os.path.exists(f"{paths.PKI}/{n}")]


def _pair(base: str, key: bytes, cert: bytes) -> None:
    _write(f"{paths.PKI}/{base}.key", key, 0o600)
    _write(f"{paths.PKI}/{base}.crt", cert, 0o644)


def create_apiserver_cert(node: str, address: str, sans: list[str]) -> None:
    """The API server's serving certificate, with kubeadm's SANs plus the endpoint and certSANs."""
    all_sans = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", node, address, "10.96.0.1", "127.0.0.1", *sans]
    _pair("apiserver", *sign(read("ca.key"), read("ca.crt"), "/CN=kube-apiserver", list(dict.fromkeys(all_sans)), client=False))


def create_etcd_client_cert() -> None:
    """apiserver-etcd-client: the API server's client certificate for etcd, signed by the etcd CA."""
    _pair("apiserver-etcd-client", *sign(read("etcd/ca.key"), read("etcd/ca.crt"), "/CN=kube-apiserver-etcd-client", None, client=True))


def create_etcd_member_certs(node: str, address: str) -> None:
    """Stacked etcd's certificates as kubeadm makes them: server and peer (CN = node name; SANs
    localhost, the node name, its address, 127.0.0.1 and ::1) and the healthcheck client."""
    ca_key, ca_cert = read("etcd/ca.key"), read("etcd/ca.crt")
    sans = ["localhost", node, address, "127.0.0.1", "::1"]
    _pair("etcd/server", *sign(ca_key, ca_cert, f"/CN={node}", sans, client=True, server=True))
    _pair("etcd/peer", *sign(ca_key, ca_cert, f"/CN={node}", sans, client=True, server=True))
    _pair("etcd/healthcheck-client", *sign(ca_key, ca_cert, "/CN=kube-etcd-healthcheck-client", None, client=True))


def client_cert(subject: str) -> tuple[bytes, bytes]:
    """A client certificate of the cluster CA: /O=group/CN=user, as in kubeadm's kubeconfigs."""
    return sign(read("ca.key"), read("ca.crt"), subject, None, client=True)


def kubeconfig(server: str, user: str, subject: str) -> bytes:
    """A kubeconfig whose user has its own client certificate (subject "/O=group/CN=name")."""
    key_pem, cert_pem = client_cert(subject)
    ca = base64.b64encode(read("ca.crt")).decode()
    crt = base64.b64encode(cert_pem).decode()
    key = base64.b64encode(key_pem).decode()
    return f"""apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: {ca}
    server: {server}
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: {user}
  name: {user}@kubernetes
current-context: {user}@kubernetes
users:
- name: {user}
  user:
    client-certificate-data: {crt}
    client-key-data: {key}
""".encode()


def write_file(path: str, data: bytes, mode: int) -> None:
    _write(path, data, mode)


def encrypt(bundle: bytes, key_hex: str) -> bytes:
    """--upload-certs: the shared PKI encrypted with the certificate key (AES-256; kubeadm uses GCM)."""
    iv = os.urandom(16).hex()
    return iv.encode() + b":" + base64.b64encode(_openssl("enc", "-aes-256-cbc", "-K", key_hex, "-iv", iv, stdin=bundle))


def decrypt(blob: bytes, key_hex: str) -> bytes:
    iv, data = blob.split(b":", 1)
    return _openssl("enc", "-d", "-aes-256-cbc", "-K", key_hex, "-iv", iv.decode(), stdin=base64.b64decode(data))
