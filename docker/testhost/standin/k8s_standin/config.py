"""kubeadm's config API (kubeadm.k8s.io/v1beta3 and v1beta4), decoded strictly: an unknown field is
an error, as `kubeadm init --config` reports it. extraArgs are maps in v1beta3 and lists of
{name, value} in v1beta4."""
import yaml

from .errors import KubeadmError

ANY = None
ARGS = "args"  # extraArgs / kubeletExtraArgs: version-dependent shape


def lst(item):
    return ("list", item)


NODE_REGISTRATION = {"name": ANY, "criSocket": ANY, "taints": ANY, "kubeletExtraArgs": ARGS, "ignorePreflightErrors": ANY,
                     "imagePullPolicy": ANY, "imagePullSerial": ANY}
ENDPOINT = {"advertiseAddress": ANY, "bindPort": ANY}
COMPONENT = {"extraArgs": ARGS, "extraVolumes": ANY, "extraEnvs": ANY}
TIMEOUTS = {"controlPlaneComponentHealthCheck": ANY, "kubeletHealthCheck": ANY, "kubernetesAPICall": ANY, "etcdAPICall": ANY,
            "tlsBootstrap": ANY, "discovery": ANY, "upgradeManifests": ANY}

SCHEMAS = {
    "InitConfiguration": {
        "bootstrapTokens": lst({"token": ANY, "description": ANY, "ttl": ANY, "expires": ANY, "usages": ANY, "groups": ANY}),
        "dryRun": ANY, "nodeRegistration": NODE_REGISTRATION, "localAPIEndpoint": ENDPOINT, "certificateKey": ANY,
        "skipPhases": ANY, "patches": {"directory": ANY}, "timeouts": TIMEOUTS,
    },
    "ClusterConfiguration": {
        "etcd": {"local": {"imageRepository": ANY, "imageTag": ANY, "dataDir": ANY, "extraArgs": ARGS, "extraEnvs": ANY,
                           "serverCertSANs": ANY, "peerCertSANs": ANY},
                 "external": {"endpoints": ANY, "caFile": ANY, "certFile": ANY, "keyFile": ANY}},
        "networking": {"serviceSubnet": ANY, "podSubnet": ANY, "dnsDomain": ANY},
        "kubernetesVersion": ANY, "controlPlaneEndpoint": ANY,
        "apiServer": {**COMPONENT, "certSANs": ANY, "timeoutForControlPlane": ANY},
        "controllerManager": COMPONENT, "scheduler": COMPONENT,
        "dns": {"imageRepository": ANY, "imageTag": ANY, "disabled": ANY}, "proxy": {"disabled": ANY},
        "certificatesDir": ANY, "imageRepository": ANY, "featureGates": ANY, "clusterName": ANY,
        "encryptionAlgorithm": ANY, "certificateValidityPeriod": ANY, "caCertificateValidityPeriod": ANY,
    },
    "JoinConfiguration": {
        "dryRun": ANY, "nodeRegistration": NODE_REGISTRATION, "caCertPath": ANY,
        "discovery": {"bootstrapToken": {"token": ANY, "apiServerEndpoint": ANY, "caCertHashes": ANY, "unsafeSkipCAVerification": ANY},
                      "file": {"kubeConfigPath": ANY}, "tlsBootstrapToken": ANY, "timeout": ANY},
        "controlPlane": {"localAPIEndpoint": ENDPOINT, "certificateKey": ANY},
        "skipPhases": ANY, "patches": {"directory": ANY}, "timeouts": TIMEOUTS,
    },
}
V1BETA4_ONLY = {"timeouts", "encryptionAlgorithm", "certificateValidityPeriod", "caCertificateValidityPeriod", "extraEnvs", "imagePullSerial"}
V1BETA3_ONLY = {"timeoutForControlPlane", "timeout"}
FOREIGN = {("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration"), ("kubeproxy.config.k8s.io/v1alpha1", "KubeProxyConfiguration")}


def _check(obj, schema, version, path, gvk):
    if schema is ANY:
        return
    if schema == ARGS:
        if version == "v1beta4":
            if not isinstance(obj, list) or not all(isinstance(a, dict) and set(a) == {"name", "value"} for a in obj):
                raise KubeadmError(f'{gvk}: strict decoding error: {path}: expected a list of {{name, value}} in kubeadm.k8s.io/v1beta4')
        elif not isinstance(obj, dict):
            raise KubeadmError(f"{gvk}: strict decoding error: {path}: expected a map in kubeadm.k8s.io/v1beta3")
        return
    if isinstance(schema, tuple):
        if not isinstance(obj, list):
            raise KubeadmError(f"{gvk}: strict decoding error: {path}: expected a list")
        for i, item in enumerate(obj):
            _check(item, schema[1], version, f"{path}[{i}]", gvk)
        return
    if not isinstance(obj, dict):
        raise KubeadmError(f"{gvk}: strict decoding error: {path}: expected an object")
    for k, v in obj.items():
        field = f"{path}.{k}" if path else k
        if k not in schema or (version == "v1beta3" and k in V1BETA4_ONLY) or (version == "v1beta4" and k in V1BETA3_ONLY):
            raise KubeadmError(f'{gvk}: strict decoding error: unknown field "{field}"')
        _check(v, schema[k], version, field, gvk)


def load(path: str, allowed: set[str]) -> dict[str, dict]:
    """Documents of a --config file by kind. Raises KubeadmError the way kubeadm refuses bad input."""
    try:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
    except FileNotFoundError:
        raise KubeadmError(f"unable to read config from \"{path}\" : open {path}: no such file or directory")
    except yaml.YAMLError as e:
        raise KubeadmError(f"error converting YAML to JSON: {e}")
    out: dict[str, dict] = {}
    for d in docs:
        api, kind = d.get("apiVersion", ""), d.get("kind", "")
        if (api, kind) in FOREIGN:
            out[kind] = d
            continue
        group, _, version = api.partition("/")
        if group != "kubeadm.k8s.io" or version not in ("v1beta3", "v1beta4"):
            raise KubeadmError(f'no kind "{kind}" is registered for version "{api}" in scheme "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"')
        if kind not in allowed:
            raise KubeadmError(f'the kind "{kind}" is not allowed here (expected one of: {", ".join(sorted(allowed))})')
        body = {k: v for k, v in d.items() if k not in ("apiVersion", "kind")}
        _check(body, SCHEMAS[kind], version, "", f"{api}, Kind={kind}")
        out[kind] = {**body, "_version": version}
    return out
