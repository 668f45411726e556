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


def sign(ca_key: bytes, ca_cert: bytes, subject: str, sans: list[str] | None, client: bool) -> tuple[bytes, bytes]:
    key = new_key()
    with tempfile.TemporaryDirectory() as d:
        for name, data in (("k", key), ("cak", ca_key), ("cac", ca_cert)):
            with open(f"{d}/{name}", "wb") as f:
                f.write(data)
        csr = _openssl("req", "-new", "-key", f"{d}/k", "-subj", subject)
        ext = ["extendedKeyUsage=clientAuth" if client else "extendedKeyUsage=serverAuth"]
        if sans:
            ext.append("subjectAltName=" + ",".join(("IP:" if _is_ip(s) else "DNS:") + s for s in sans))
        with open(f"{d}/ext", "w") as f:
            f.write("\n".join(ext) + "\n")
        cert = _openssl("x509", "-req", "-CA", f"{d}/cac", "-CAkey", f"{d}/cak", "-CAcreateserial", "-days", "365",
                        "-extfile", f"{d}/ext", stdin=csr)
    return key, cert


def _is_ip(s: str) -> bool:
    parts = s.split(".")
    return len(parts) == 4 and all(x.isdigit() for x in parts)


def ca_hash(ca_cert_pem: bytes) -> str:
    """kubeadm's --discovery-token-ca-cert-hash: sha256 of the CA's SubjectPublicKeyInfo (DER)."""
    pub = _openssl("x509", "-pubkey", "-noout", stdin=ca_cert_pem)
    der = _openssl("pkey", "-pubin", "-outform", "der", stdin=pub)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def create_shared_pki() -> None:
    """What `kubeadm init` creates once per cluster and joining control planes must share."""
    for base, cn in (("ca", "kubernetes"), ("front-proxy-ca", "front-proxy-ca"), ("etcd/ca", "etcd-ca")):
        key, cert = new_ca(cn)
        _write(f"{paths.PKI}/{base}.key", key, 0o600)
        _write(f"{paths.PKI}/{base}.crt", cert, 0o644)
    sa = new_key()
    _write(f"{paths.PKI}/sa.key", sa, 0o600)
    _write(f"{paths.PKI}/sa.pub", _openssl("pkey", "-pubout", stdin=sa), 0o644)


def read(name: str) -> bytes:
    with open(f"{paths.PKI}/{name}", "rb") as f:
        return f.read()


def missing_shared() -> list[str]:
    return [n for n in paths.SHARED_PKI if not os.path.exists(f"{paths.PKI}/{n}")]


def create_node_certs(node: str, address: str, sans: list[str]) -> None:
    """The per-node certificates: the API server's serving cert (SANs incl. the endpoint) and the admin client cert."""
    ca_key, ca_cert = read("ca.key"), read("ca.crt")
    all_sans = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", node, address, "10.96.0.1", "127.0.0.1", *sans]
    key, cert = sign(ca_key, ca_cert, f"/CN=kube-apiserver", list(dict.fromkeys(all_sans)), client=False)
    _write(f"{paths.PKI}/apiserver.key", key, 0o600)
    _write(f"{paths.PKI}/apiserver.crt", cert, 0o644)
    key, cert = sign(ca_key, ca_cert, "/O=kubeadm:cluster-admins/CN=kubernetes-admin", None, client=True)
    _write(f"{paths.PKI}/admin-client.key", key, 0o600)
    _write(f"{paths.PKI}/admin-client.crt", cert, 0o644)


def kubeconfig(server: str, user: str) -> bytes:
    ca = base64.b64encode(read("ca.crt")).decode()
    crt = base64.b64encode(read("admin-client.crt")).decode()
    key = base64.b64encode(read("admin-client.key")).decode()
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
