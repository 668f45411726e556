"""PATCH bodies as kube-apiserver applies them: JSON merge patch (RFC 7386), JSON patch (RFC 6902)
and strategic merge patch — what client-side `kubectl apply` sends for built-in kinds. The strategic
form merges the lists Kubernetes gives a merge key (containers by name, ports by containerPort, …)
and honours the directives kubectl emits ($patch, $setElementOrder/…, $retainKeys,
$deleteFromPrimitiveList/…); every other list is replaced, as for fields without a patch strategy."""
from __future__ import annotations

import copy

from .store import ApiStatus

# field name → merge key, for the list fields of the served kinds that have patchStrategy "merge"
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
    "volumeMounts": "mountPath", "volumeDevices": "devicePath", "env": "name", "ports": "containerPort",
    "imagePullSecrets": "name", "hostAliases": "ip", "conditions": "type", "addresses": "type",
    "ownerReferences": "uid", "finalizers": None, "taints": "key",
}


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def json_patch(target, ops):
    doc = copy.deepcopy(target)
    for op in ops:
        path = [p.replace("~1", "/").replace("~0", "~") for p in op.get("path", "").split("/")[1:]]
        parent = doc
        for p in path[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent.setdefault(p, {})
        last = path[-1] if path else None
        kind = op.get("op")
        if kind in ("add", "replace"):
            if isinstance(parent, list):
                i = len(parent) if last == "-" else int(last)
                parent.insert(i, op["value"]) if kind == "add" else parent.__setitem__(i, op["value"])
            else:
                if kind == "replace" and last not in parent:
                    raise ApiStatus(422, "Invalid", f"the server rejected our request due to an error in our request: replace operation does not apply: doc is missing key: {op['path']}")
                parent[last] = op["value"]
        elif kind == "remove":
            parent.pop(int(last)) if isinstance(parent, list) else parent.pop(last)
        elif kind == "test":
            if (parent[int(last)] if isinstance(parent, list) else parent.get(last)) != op.get("value"):
                raise ApiStatus(422, "Invalid", f"the server rejected our request due to an error in our request: testing value {op['path']} failed")
        else:
            raise ApiStatus(400, "BadRequest", f"Unexpected kind: {kind}")
    return doc


def strategic_merge(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k in ("$retainKeys", "$patch"):
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            out[field] = [x for x in out.get(field) or [] if x not in v]
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, list) and k in MERGE_KEYS and isinstance(out.get(k), list):
            out[k] = _merge_list(out[k], v, MERGE_KEYS[k], patch.get(f"$setElementOrder/{k}"))
        elif isinstance(v, dict):
            merged = strategic_merge(out.get(k), v)
            if merged is None:
                out.pop(k, None)
            else:
                out[k] = merged
        else:
            out[k] = copy.deepcopy(v)
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _merge_list(current: list, patch: list, key: str | None, order: list | None) -> list:
    if key is None:  # a set of primitives (finalizers): union
        return current + [x for x in patch if x not in current]
    if patch and not all(isinstance(x, dict) for x in patch):
        return copy.deepcopy(patch)
    out = [copy.deepcopy(x) for x in current]
    for item in patch:
        idx = next((i for i, x in enumerate(out) if isinstance(x, dict) and x.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append(strategic_merge({}, item))
        else:
            out[idx] = strategic_merge(out[idx], item)
    if order:
        rank = {o.get(key) if isinstance(o, dict) else o: i for i, o in enumerate(order)}
        out.sort(key=lambda x: rank.get(x.get(key), len(rank)))
    return out


def apply(content_type: str, target: dict, body) -> dict:
    ct = content_type.split(";")[0].strip()
    if ct == "application/merge-patch+json":
        return merge_patch(target, body)
    if ct == "application/json-patch+json":
        if not isinstance(body, list):
            raise ApiStatus(400, "BadRequest", "the server rejected our request due to an error in our request: json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        return json_patch(target, body)
    if ct == "application/strategic-merge-patch+json":
        return strategic_merge(target, body)
    # application/apply-patch+yaml: server-side apply is not modelled
    raise ApiStatus(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (server-side apply, "{ct}", is not modelled by this stand-in)')
