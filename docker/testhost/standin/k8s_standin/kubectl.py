"""`kubectl` FALLBACK stand-in, installed only when the machine that built the image had no real
kubectl (docker/build-image.sh says which): get nodes|node NAME|pods, apply -f FILE|-, get --raw
PATH, version, through the same REST API the real kubectl uses."""
import json
import os
import sys

import yaml

from .client import ApiError, from_kubeconfig
from .resources import BY_KIND
from .errors import KubeadmError
from .flags import parse

SPEC = {"kubeconfig": "str", "output": "str", "o": "str", "namespace": "str", "n": "str", "all-namespaces": "bool", "A": "bool",
        "filename": "str", "f": "str", "raw": "str", "request-timeout": "str", "v": "str", "server-side": "bool", "force-conflicts": "bool"}


def main(argv: list[str]) -> int:
    try:
        f, pos = parse(argv, SPEC, "kubectl")
    except KubeadmError as e:
        raise KubeadmError(str(e).replace("kubeadm", "kubectl").split("\n")[0].replace("unknown flag", "error: unknown flag"))
    kubeconfig = f.get("kubeconfig") or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    verb = pos[0] if pos else ""
    out = f.get("output") or f.get("o") or ""
    if not os.path.exists(kubeconfig):
        raise KubeadmError(f"error: stat {kubeconfig}: no such file or directory")
    try:
        api = from_kubeconfig(kubeconfig)
        if verb == "version":
            v = api.call("GET", "/version")
            print(json.dumps({"serverVersion": v}) if out == "json" else f"Server Version: {v['gitVersion']}")
            return 0
        if verb == "get" and "raw" in f:
            print(api.call("GET", f["raw"]))
            return 0
        if verb == "get" and len(pos) >= 2:
            return get(api, pos[1], pos[2] if len(pos) > 2 else None, f.get("namespace") or f.get("n"), f.get("all-namespaces") or f.get("A"), out)
        if verb == "apply":
            return apply(api, f.get("filename") or f.get("f"))
    except ApiError as e:
        raise KubeadmError(f"Unable to connect to the server: {e}" if "dial tcp" in str(e) else f"Error from server: {e}")
    raise KubeadmError(f'error: unknown command "{verb}" for "kubectl"' if verb not in ("get", "apply") else f"error: you must specify the type of resource to {verb}")


def get(api, kind: str, name: str | None, ns: str | None, all_ns: bool, out: str) -> int:
    kind = {"node": "nodes", "no": "nodes", "pod": "pods", "po": "pods"}.get(kind, kind)
    if kind == "nodes":
        data = api.call("GET", f"/api/v1/nodes/{name}") if name else api.call("GET", "/api/v1/nodes")
    elif kind == "pods":
        data = api.call("GET", "/api/v1/pods" if all_ns else f"/api/v1/namespaces/{ns or 'default'}/pods")
    else:
        raise KubeadmError(f'error: the server doesn\'t have a resource type "{kind}"')
    if out == "json":
        print(json.dumps(data, indent=2))
        return 0
    if out == "name":
        for i in data.get("items", [data]):
            print(f"{i['kind'].lower()}/{i['metadata']['name']}")
        return 0
    items = data.get("items", [data])
    if kind == "nodes":
        print(f"{'NAME':<16}{'STATUS':<10}{'ROLES':<16}{'VERSION'}")
        for i in items:
            ready = i["status"]["conditions"][0]["status"] == "True"
            roles = "control-plane" if "node-role.kubernetes.io/control-plane" in i["metadata"]["labels"] else "<none>"
            print(f"{i['metadata']['name']:<16}{'Ready' if ready else 'NotReady':<10}{roles:<16}{i['status']['nodeInfo']['kubeletVersion']}")
    else:
        if not items:
            print(f"No resources found in {ns or 'default'} namespace.", file=sys.stderr)
            return 0
        print(f"{'NAME':<32}{'READY':<8}{'STATUS':<10}{'NODE'}")
        for i in items:
            print(f"{i['metadata']['name']:<32}{'1/1':<8}{i['status']['phase']:<10}{i['spec']['nodeName']}")
    return 0


def apply(api, filename: str | None) -> int:
    if not filename:
        raise KubeadmError("error: must specify one of -f and -k")
    try:
        text = sys.stdin.read() if filename == "-" else open(filename).read()
    except FileNotFoundError:
        raise KubeadmError(f'error: the path "{filename}" does not exist')
    objects = []
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        raise KubeadmError(f"error: error parsing {filename}: {e}")
    for d in docs:
        if not isinstance(d, dict) or not d.get("apiVersion") or not d.get("kind"):
            raise KubeadmError(f"error: error validating \"{filename}\": error validating data: [apiVersion not set, kind not set]")
        if not isinstance(d.get("metadata"), dict) or not d["metadata"].get("name"):
            raise KubeadmError(f"error: error validating \"{filename}\": error validating data: ValidationError(Object): missing required field \"metadata.name\"")
        objects.append(d)
    for d in objects:
        group, _, version = d["apiVersion"].rpartition("/")
        r = BY_KIND.get((group, d["kind"]))
        if r is None:
            raise KubeadmError(f'error: resource mapping not found for name: "{d["metadata"]["name"]}" namespace: "" from "{filename}": no matches for kind "{d["kind"]}" in version "{d["apiVersion"]}"')
        ns = d["metadata"].get("namespace", "default") if r.namespaced else None
        base = f"/api/{version}" if not group else f"/apis/{group}/{version}"
        coll = f"{base}/namespaces/{ns}/{r.name}" if ns else f"{base}/{r.name}"
        name = d["metadata"]["name"]
        label = f"{r.singular}.{group}" if group else r.singular  # kubectl's own wording
        try:
            cur = api.call("GET", f"{coll}/{name}")
        except ApiError as e:
            if e.code != 404:
                raise
            api.call("POST", coll, d)
            print(f"{label}/{name} created")
            continue
        same = all(cur.get(k) == v for k, v in d.items() if k not in ("metadata", "apiVersion", "kind"))
        if same:
            print(f"{label}/{name} unchanged")
            continue
        api.call("PUT", f"{coll}/{name}", {**d, "metadata": {**d["metadata"], "resourceVersion": cur["metadata"]["resourceVersion"]}})
        print(f"{label}/{name} configured")
    return 0
