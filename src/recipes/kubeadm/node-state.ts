import type { Fact } from "../../core/fact.js";
import type { Guard } from "../../core/guard.js";
import { quote } from "../../core/quote.js";
import { runKey, type RunKey } from "../../core/run-key.js";

/**
 * What kubeadm leaves on a node that took part in a cluster (issue #19): its own static-pod
 * manifests, kubeconfigs, leaf certificates, the kubelet's client certificate and — with a stacked
 * member — etcd's data. Not the shared CA files haprov copies before a join (identical on every
 * control-plane node, and nothing of a node's own), not a kube-vip manifest haprov writes, and not
 * an external etcd's data (design E: /var/lib/etcd is Debian's etcd, not kubeadm's).
 */
const PATHS = [
  "/etc/kubernetes/manifests/kube-apiserver.yaml",
  "/etc/kubernetes/manifests/kube-controller-manager.yaml",
  "/etc/kubernetes/manifests/kube-scheduler.yaml",
  "/etc/kubernetes/admin.conf",
  "/etc/kubernetes/super-admin.conf",
  "/etc/kubernetes/kubelet.conf",
  "/etc/kubernetes/controller-manager.conf",
  "/etc/kubernetes/scheduler.conf",
  "/etc/kubernetes/pki/apiserver.crt",
  "/etc/kubernetes/pki/apiserver-kubelet-client.crt",
  "/etc/kubernetes/pki/front-proxy-client.crt",
  "/var/lib/kubelet/pki/kubelet-client-current.pem",
];
const STACKED = ["/etc/kubernetes/manifests/etcd.yaml", "/etc/kubernetes/pki/etcd/server.crt"];
const ETCD_DATA = "/var/lib/etcd";

export const KUBEADM_STATE = "Kubernetes state";

/** The kubeadm state this node has (empty: none), in one snippet without a fork per path. */
export function kubeadmState(stackedEtcd: boolean): Fact<string[]> {
  const paths = [...PATHS, ...(stackedEtcd ? STACKED : [])];
  return {
    key: `kubeadm-state:${stackedEtcd ? "stacked" : "external"}`,
    script: [
      `for p in ${paths.map(quote).join(" ")}; do [ -e "$p" ] && echo "$p"; done`,
      ...(stackedEtcd
        ? [
            `for f in ${ETCD_DATA}/* ${ETCD_DATA}/.[!.]*; do [ -e "$f" ] && { echo ${ETCD_DATA}; break; }; done`,
          ]
        : []),
      "true",
    ].join("\n"),
    parse: (out) =>
      out
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean),
  };
}

/** The guard of a reset after a failed init or join: only what this run itself made is undone. */
export const freshAtStart = (stackedEtcd: boolean): Guard => ({
  kind: "fresh-at-start",
  what: KUBEADM_STATE,
  state: kubeadmState(stackedEtcd),
});

/** "a, b and 3 more": a state list short enough for one line. */
export function stateText(found: string[]): string {
  return found.length <= 3
    ? found.join(", ")
    : `${found.slice(0, 3).join(", ")} and ${found.length - 3} more`;
}

/** Each control-plane host's kubeadm state ("" when none), gathered in the init phase. */
export const NODE_STATES: RunKey = runKey("kubeadmStates", "what kubeadm state each control-plane host has");
