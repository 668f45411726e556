import { clusterOf, type Inventory } from "../../config/schema.js";
import { sh } from "../../core/quote.js";
import { fileStep } from "../../steps/file.js";
import { waitStep } from "../../steps/wait.js";
import { all, when } from "../blocks/condition.js";
import { managedFile } from "../blocks/files.js";
import { phase } from "../blocks/phase.js";
import { stepsOf } from "../blocks/step.js";
import { byRole, type HostView, type RecipeInput } from "../blocks/view.js";
import { kubeadmPhases, type KubeadmOptions } from "../kubeadm/index.js";
import { INIT_NODE, isInitNode, notInitNode } from "../kubeadm/values.js";
import type { Endpoint, Recipe, RuleIssue } from "../recipe.js";
import { kubeadmSources, leaseHolderSource, vipHolderSource } from "../membership/sources.js";
import { LEASE_NAME } from "./manifest.js";
import { sameSubnet, specialAddress } from "../../config/ipv4.js";
import { vipRules } from "../vip/rules.js";
import { kubeVipRemoval } from "./remove.js";
import { KUBE_VIP_MANIFEST, renderKubeVipManifest, type KubeconfigFile } from "./manifest.js";
import { kubeVipStatus } from "./status.js";
import { kubeVipStartedAfterFile, peersFileFirst, peersFileKept, restartKubeVip } from "./peers-file.js";

/**
 * Design C (REFERENCE.md §3, seed 001): kube-vip as a static pod on every control-plane node holds
 * the VIP (ARP, leader election on the Lease plndr-cp-lock); no haproxy, no keepalived. Clients
 * use VIP:apiServerPort, which lands on the leader's own API server.
 *
 * The order kube-vip needs (§3.2): the manifest on the init node before `kubeadm init` (the VIP
 * must exist for init to reach the API through it), on every other node after its join. From
 * Kubernetes 1.29 admin.conf has no rights until init has made the kubeadm:cluster-admins binding
 * — through the VIP kube-vip cannot take without them (kube-vip#684) — so the init node's kube-vip
 * reads super-admin.conf while it initialises, and is switched back to admin.conf once the others
 * have joined (their kube-vip then holds the lease while it restarts).
 */
const endpoint = (inv: Inventory): Endpoint => ({
  host: clusterOf(inv, ["kube-vip"]).vip,
  port: inv.cluster.apiServerPort,
});

const minor = (v: string) => Number(/^v?1\.(\d+)\./.exec(v)?.[1] ?? 0);

/**
 * Test hook (e2e only): the init node's kube-vip gets admin.conf from the start, to show the
 * kube-vip#684 trap on the lab; never set outside haprov's own tests.
 */
const TRAP = "HAPROV_TEST_KUBE_VIP_ADMIN_CONF_DURING_INIT";

/** This node's BGP router ID: the inventory's, else its own address (never one shared by all). */
export const routerIdOf = (inv: Inventory, host: string) => {
  const h = inv.hosts.find((x) => x.name === host);
  return h?.routerId ?? h?.address ?? "";
};

function manifestFor(v: HostView, kubeconfig: KubeconfigFile): string {
  const k = clusterOf(v.inventory, ["kube-vip"]).kubeVip;
  const bgp = k.bgp && { ...k.bgp, routerId: routerIdOf(v.inventory, v.host.name) };
  return renderKubeVipManifest({
    bgp,
    vip: clusterOf(v.inventory, ["kube-vip"]).vip,
    interface: v.host.interface,
    port: v.inventory.cluster.apiServerPort,
    leaseDuration: k.leaseDuration,
    renewDeadline: k.renewDeadline,
    retryPeriod: k.retryPeriod,
    services: k.services,
    kubeconfig,
  });
}

/** The init node's kubeconfig for kube-vip while `kubeadm init` runs there, and why. */
function duringInit(v: HostView): KubeconfigFile {
  if (process.env[TRAP] === "1") return "admin.conf";
  // A node that has initialised already (its answer to the init gather) keeps admin.conf.
  if (v.answers(INIT_NODE)[v.host.name]) return "admin.conf";
  return minor(v.inventory.cluster.kubernetesVersion) >= 29 ? "super-admin.conf" : "admin.conf";
}

const manifestFile = (content: string, v: HostView) =>
  managedFile(KUBE_VIP_MANIFEST, content, {
    mode: "0600",
    // offline: no API server yet (§3.3 step 2): a pod manifest, and the interface exists here
    validate: `grep -q '^kind: Pod$' %s && ${sh`ip link show dev ${clusterOf(v.inventory, ["kube-vip"]).kubeVip.bgp ? "lo" : v.host.interface}`} >/dev/null`,
  });

function kubeadmOptions(input: Pick<RecipeInput, "inventory" | "hosts">): KubeadmOptions {
  const e = endpoint(input.inventory);
  return {
    endpoint: e,
    via: "through the VIP",
    certSANs: [e.host, ...byRole(input.hosts, "control-plane").map((h) => h.address)],
  };
}

/** The init node's kube-vip back on admin.conf once every control-plane node has joined, then the VIP answers. */
function settlePhase(input: RecipeInput) {
  const step = stepsOf(input);
  const e = endpoint(input.inventory);
  return phase(input, {
    name: "kube-vip admin kubeconfig",
    hosts: byRole(input.hosts, "control-plane"),
    steps: [
      peersFileKept(input),
      step({
        name: "kube-vip manifest with admin.conf",
        type: fileStep,
        when: all(
          isInitNode,
          when(() => (process.env[TRAP] === "1" ? "test hook: admin.conf from the start" : undefined)),
        ),
        params: (v) => manifestFile(manifestFor(v, "admin.conf"), v),
        notify: ["kube-vip restarted"],
      }),
      step({
        name: "API server ready through the VIP",
        type: waitStep,
        when: isInitNode,
        params: () => ({
          until: sh`curl -sfk --max-time 2 -o /dev/null ${`https://${e.host}:${e.port}/readyz`}`,
          what: clusterOf(input.inventory, ["kube-vip"]).kubeVip.bgp
            ? "kube-vip has the VIP on lo and it answers"
            : "a kube-vip holds the lease and the VIP answers",
          timeoutSec: 120,
        }),
      }),
    ],
    handlers: [
      restartKubeVip,
      {
        // The kubelet restarts kube-vip some time after its manifest changed; until then the
        // old one (super-admin.conf) may still lead, and the VIP may move once more (issue #19).
        name: "kube-vip restarted",
        run: () => "true",
        verify: () => kubeVipStartedAfterFile(KUBE_VIP_MANIFEST),
        serial: false,
      },
    ],
  });
}

/** Exit 0 when this node has an established BGP session (TCP 179) with every peer. */
export const bgpSessionsUp = (peers: string[]) =>
  [
    `s=$(ss -Htn state established '( dport = :179 or sport = :179 )' 2>/dev/null)`,
    ...peers.map((p) => sh`printf '%s\n' "$s" | grep -qF ${` ${p}:`} || exit 1`),
    "exit 0",
  ].join("\n");

/**
 * BGP mode: the VIP is routed, not moved within a subnet. It should lie outside the nodes' subnet
 * (on lo of every node, Linux would answer ARP for it from all of them); router IDs must differ
 * (the upstream examples give every node the same one: peers then drop all but one session);
 * keepalives at most a third of the hold time (RFC 4271).
 */
function bgpRules(inv: Inventory): RuleIssue[] {
  const b = clusterOf(inv, ["kube-vip"]).kubeVip.bgp!;
  const c = clusterOf(inv, ["kube-vip"]);
  const issues: RuleIssue[] = [];
  if (!c.vip)
    return [{ path: ["cluster"], message: `needs "vip": kube-vip announces it over BGP`, severity: "error" }];
  const seen = new Map<string, string>();
  inv.hosts.forEach((h, i) => {
    if (!h.roles.includes("control-plane")) return;
    const id = routerIdOf(inv, h.name);
    const other = seen.get(id);
    if (other)
      issues.push({
        path: ["hosts", i, h.routerId ? "routerId" : "address"],
        message: `${h.name}: BGP router ID ${id} is also ${other}'s: every node needs its own, or its peers keep only one session`,
        severity: "error",
      });
    seen.set(id, h.name);
    if (sameSubnet(h.address, c.vip, c.vipPrefix))
      issues.push({
        path: ["cluster", "vip"],
        message: `${c.vip} is in ${h.name}'s subnet: in BGP mode the VIP sits on every node's lo and all of them would answer ARP for it; use an address outside the nodes' subnet`,
        severity: "warning",
      });
  });
  b.peers.forEach((p, i) => {
    const at = ["cluster", "kubeVip", "bgp", "peers", i, "address"];
    const self = inv.hosts.find((h) => h.address === p.address);
    if (self)
      issues.push({
        path: at,
        message: `${p.address} is host ${self.name}: peers are the network's routers, not cluster nodes`,
        severity: "error",
      });
    const special = specialAddress(p.address);
    if (special && !special.startsWith("a loopback"))
      issues.push({
        path: at,
        message: `${p.address} is ${special}: a BGP peer is a router's address`,
        severity: "error",
      });
    if (b.peers.findIndex((q) => q.address === p.address) < i)
      issues.push({
        path: at,
        message: `${p.address} is listed twice: one session per peer`,
        severity: "error",
      });
  });
  // Router IDs: not 0.0.0.0 or 255.255.255.255 (RFC 6286: a BGP Identifier is a non-zero unicast
  // 32-bit value), and not a peer's own (the peer drops an OPEN carrying its own identifier).
  inv.hosts.forEach((h, i) => {
    if (!h.roles.includes("control-plane")) return;
    const id = routerIdOf(inv, h.name);
    const at = ["hosts", i, h.routerId ? "routerId" : "address"];
    if (id === "0.0.0.0" || id === "255.255.255.255")
      issues.push({
        path: at,
        message: `${h.name}: BGP router ID ${id} is not a usable identifier`,
        severity: "error",
      });
    const peer = b.peers.find((p) => p.address === id);
    if (peer)
      issues.push({
        path: at,
        message: `${h.name}: BGP router ID ${id} is peer ${peer.address}'s address: the peer would refuse the session`,
        severity: "error",
      });
  });

  if (b.keepaliveInterval * 3 > b.holdTime)
    issues.push({
      path: ["cluster", "kubeVip", "bgp", "keepaliveInterval"],
      message: `must be at most a third of holdTime (${b.holdTime} s): a peer would drop the session between two keepalives`,
      severity: "error",
    });
  return issues;
}

function rules(inv: Inventory): RuleIssue[] {
  const k = clusterOf(inv, ["kube-vip"]).kubeVip;
  const issues = k.bgp ? bgpRules(inv) : vipRules(inv, "control-plane");
  if (k.leaseDuration <= k.renewDeadline)
    issues.push({
      path: ["cluster", "kubeVip", "renewDeadline"],
      message: `must be below leaseDuration (${k.leaseDuration} s): a leader must give up before its lease runs out, or two nodes hold the VIP`,
      severity: "error",
    });
  if (k.renewDeadline <= 1.2 * k.retryPeriod)
    issues.push({
      path: ["cluster", "kubeVip", "retryPeriod"],
      message: `renewDeadline (${k.renewDeadline} s) must exceed 1.2 × retryPeriod (${k.retryPeriod} s), as client-go's leader election requires`,
      severity: "error",
    });
  if (inv.cluster.lbPort !== inv.cluster.apiServerPort)
    issues.push({
      path: ["cluster", "lbPort"],
      message: `kube-vip forwards nothing: clients reach the leader's API server on VIP:${inv.cluster.apiServerPort}; lbPort ${inv.cluster.lbPort} is not used`,
      severity: "warning",
    });
  inv.hosts.forEach((h, i) => {
    if (h.roles.includes("lb") || h.roles.includes("etcd"))
      issues.push({
        path: ["hosts", i, "roles"],
        message: `${h.name}: mode kube-vip has no load-balancer or separate etcd hosts (kube-vip runs on the control-plane nodes, etcd is kubeadm's)`,
        severity: "error",
      });
  });
  return issues;
}

export const designC: Recipe = {
  mode: "kube-vip",
  title:
    "kube-vip as a static pod on every control-plane node (ARP, leader election), kubeadm behind the VIP",
  values: [INIT_NODE],
  phases(input) {
    const step = stepsOf(input);
    return kubeadmPhases(input, kubeadmOptions(input), {
      lb: [],
      beforeInit: [
        peersFileFirst(input, isInitNode),
        step({
          name: "kube-vip manifest (before init)",
          type: fileStep,
          when: isInitNode,
          params: (v) => manifestFile(manifestFor(v, duringInit(v)), v),
        }),
      ],
      afterJoin: [
        peersFileFirst(input, notInitNode),
        step({
          name: "kube-vip manifest",
          type: fileStep,
          when: notInitNode,
          params: (v) => manifestFile(manifestFor(v, "admin.conf"), v),
        }),
      ],
      last: [settlePhase(input)],
    });
  },
  removal: kubeVipRemoval(endpoint, kubeadmOptions),
  rules,
  endpoint,
  operatorEndpoint: (inv) => ({ ...endpoint(inv), why: "the VIP, on the leader's API server port" }),
  status: kubeVipStatus,
  // BGP: up returns only once every node has its sessions (a node whose speaker is still coming
  // back announces nothing: one kill then takes the VIP's only route, issue #19).
  settle: (input) =>
    clusterOf(input.inventory, ["kube-vip"]).kubeVip.bgp
      ? [
          stepsOf(input)({
            name: "BGP sessions established",
            type: waitStep,
            params: (v) => ({
              until: bgpSessionsUp(
                clusterOf(v.inventory, ["kube-vip"]).kubeVip.bgp!.peers.map((p) => p.address),
              ),
              what: `every BGP peer has an established session with ${v.host.name}`,
              timeoutSec: 120,
            }),
          }),
        ]
      : [],
  // ARP: the VIP's holder on the link and the Lease's holder; BGP: the VIP is on every node's lo
  // (the routers see the speakers, not the nodes).
  members: (host, inv) => [
    ...kubeadmSources(host, inv, { stackedEtcd: true }),
    ...(host.roles.includes("control-plane") && inv.cluster.vip && !clusterOf(inv, ["kube-vip"]).kubeVip.bgp
      ? [
          vipHolderSource(host, inv.cluster.vip, inv.cluster.apiServerPort),
          leaseHolderSource(host, inv.cluster.apiServerPort, LEASE_NAME),
        ]
      : []),
  ],
  lab: {
    hosts: (n) =>
      Array.from({ length: n }, (_, i) => ({ name: `cp${i + 1}`, roles: ["control-plane" as const] })),
    cluster: (vip) => [`vip: ${vip.address}`, `vipPrefix: ${vip.prefix}`, "interface: eth0"],
  },
};
