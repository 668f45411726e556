import { clusterOf, type Inventory } from "../../config/schema.js";
import type { HostSpec } from "../../core/host.js";
import { byRole, type RecipeInput } from "../blocks/view.js";
import { kubeadmPhases, type KubeadmOptions } from "../kubeadm/index.js";
import { INIT_NODE } from "../kubeadm/values.js";
import type { Recipe, RuleIssue } from "../recipe.js";
import { configPeersSource, etcdSource, kubeadmSources } from "../membership/sources.js";
import {
  ETCD_BOOTSTRAPPED,
  ETCD_CA_CERT,
  ETCD_MEMBER_LIST,
  ETCD_CA_HOST,
  ETCD_TOKEN,
  etcdCaPhase,
  etcdClusterPhase,
  etcdMembersPhase,
  etcdAccessOf,
  externalEtcdOf,
} from "./etcd.js";
import { HAPROXY_CFG, localProxyPhase, NGINX_CONF } from "./proxy.js";
import { etcdJoinPhase } from "./join.js";
import { caKeyKeptPhase, etcdCleanup, externalEtcdAccess } from "./remove.js";
import { filesAbsent } from "../blocks/absent.js";
import { serviceGone } from "../vip/remove.js";
import { localProxyStatus } from "./status.js";

/**
 * Design E (REFERENCE.md §5, seed 004): no VIP. A static etcd cluster with TLS on the `etcd` hosts,
 * built by haprov; kubeadm with `etcd.external`; and on every node a proxy on 127.0.0.1:lbPort in
 * front of every API server, which kubelets, kube-proxy and joining nodes use
 * (controlPlaneEndpoint 127.0.0.1:lbPort).
 */
const endpoint = (inv: Inventory) => ({ host: "127.0.0.1", port: inv.cluster.lbPort });

function kubeadmOptions(input: Pick<RecipeInput, "inventory" | "hosts">): KubeadmOptions {
  const ext = clusterOf(input.inventory, ["etcd-local-proxy"]).localProxy.externalEndpoint;
  return {
    endpoint: endpoint(input.inventory),
    via: "through the local proxy",
    certSANs: [
      "127.0.0.1",
      "localhost",
      ...byRole(input.hosts, "control-plane").map((h) => h.address),
      ...(ext ? [ext.address] : []),
    ],
    externalEtcd: externalEtcdOf(input.hosts),
  };
}

function rules(inv: Inventory): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const members = inv.hosts.filter((h) => h.roles.includes("etcd"));
  if (members.length === 0)
    issues.push({
      path: ["hosts"],
      message: 'mode etcd-local-proxy needs hosts with role "etcd" (3 or 5) for its etcd cluster, found none',
      severity: "error",
    });
  else if (members.length > 7)
    issues.push({
      path: ["hosts"],
      message: `${members.length} etcd members: use 3 or 5 (every write waits for a majority of them)`,
      severity: "error",
    });
  // An even count works, and is where a cluster passes while it grows or shrinks (issue #21); it
  // only buys nothing: warned, not refused.
  else if (members.length % 2 === 0)
    issues.push({
      path: ["hosts"],
      message: `${members.length} etcd members: use an odd number (3 or 5). ${members.length} members tolerate no more failures than ${members.length - 1}, and every write waits for more of them`,
      severity: "warning",
    });
  else if (members.length === 1)
    issues.push({
      path: ["hosts"],
      message: "one etcd member: the cluster stops when that host does (use 3 or 5)",
      severity: "warning",
    });
  if (inv.cluster.lbPort === inv.cluster.apiServerPort)
    issues.push({
      path: ["cluster", "lbPort"],
      message: `must differ from the API server port ${inv.cluster.apiServerPort}: kube-apiserver binds *:${inv.cluster.apiServerPort}, loopback included, on control-plane nodes (use 7443)`,
      severity: "error",
    });
  if ([2379, 2380].includes(inv.cluster.lbPort))
    issues.push({
      path: ["cluster", "lbPort"],
      message: `${inv.cluster.lbPort} is etcd's port on the etcd hosts (use 7443)`,
      severity: "error",
    });
  inv.hosts.forEach((h, i) => {
    if (h.roles.includes("lb"))
      issues.push({
        path: ["hosts", i, "roles"],
        message: `${h.name}: mode etcd-local-proxy has no load-balancer hosts (every node runs its own proxy)`,
        severity: "error",
      });
  });
  if (inv.cluster.vip)
    issues.push({
      path: ["cluster", "vip"],
      message: "mode etcd-local-proxy uses no VIP: this value is not used",
      severity: "warning",
    });
  return issues;
}

export const designE: Recipe = {
  mode: "etcd-local-proxy",
  title: "a static etcd cluster with TLS, kubeadm with external etcd, and a local API proxy on every node",
  values: [ETCD_CA_HOST, ETCD_CA_CERT, ETCD_TOKEN, ETCD_BOOTSTRAPPED, ETCD_MEMBER_LIST, INIT_NODE],
  phases(input) {
    return kubeadmPhases(input, kubeadmOptions(input), {
      lb: [
        etcdCaPhase(input),
        etcdMembersPhase(input),
        etcdJoinPhase(input),
        etcdClusterPhase(input),
        localProxyPhase(input),
      ],
    });
  },
  removal: {
    kubeadm: kubeadmOptions,
    stackedEtcd: false,
    // every node's own proxy (workers too) drops the node's API server, one node at a time
    outOfRotation: (r) => [localProxyPhase(r)],
    // an etcd host's member leaves from the acting control-plane node (its API server's pair)
    externalEtcd: externalEtcdAccess,
    preflight: caKeyKeptPhase,
    cleanup: (r) => {
      const kind = clusterOf(r.inventory, ["etcd-local-proxy"]).localProxy.proxy;
      const node = r.node.spec;
      return [
        ...(node && (node.roles.includes("control-plane") || node.roles.includes("worker"))
          ? [
              serviceGone(r, kind),
              filesAbsent("local proxy config removed", [kind === "haproxy" ? HAPROXY_CFG : NGINX_CONF]),
            ]
          : []),
        ...etcdCleanup(r),
      ];
    },
  },
  rules,
  endpoint,
  operatorEndpoint(inv, hosts: HostSpec[]) {
    const ext = clusterOf(inv, ["etcd-local-proxy"]).localProxy.externalEndpoint;
    if (ext) return { host: ext.address, port: ext.port, why: "cluster.localProxy.externalEndpoint" };
    const cp = hosts.find((h) => h.roles.includes("control-plane"));
    return {
      host: cp?.address ?? "",
      port: inv.cluster.apiServerPort,
      why: `the API server of ${cp?.name ?? "no node"}: each node's proxy is on its own loopback, so not reachable from here; set cluster.localProxy.externalEndpoint for a load balancer`,
    };
  },
  status: localProxyStatus,
  members: (host, inv) => [
    ...kubeadmSources(host, inv, { stackedEtcd: false }),
    // every node's local proxy names the API servers (what up rewrites: notes only)
    ...(host.roles.includes("control-plane") || host.roles.includes("worker")
      ? [configPeersSource(host)]
      : []),
    ...(host.roles.includes("etcd") ? [etcdSource(etcdAccessOf(host, inv.hosts))] : []),
  ],
  lab: {
    hosts: (n) => [
      ...Array.from({ length: n }, (_, i) => ({
        name: `cp${i + 1}`,
        roles: ["control-plane" as const, "etcd" as const],
      })),
      { name: "w1", roles: ["worker" as const] },
    ],
    cluster: () => ["lbPort: 7443"],
  },
};
