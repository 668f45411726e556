import { clusterOf, type Inventory } from "../../config/schema.js";
import type { HostSpec } from "../../core/host.js";
import { sh } from "../../core/quote.js";
import { byRole, type HostView, type RecipeInput } from "../blocks/view.js";
import { kubeadmPhases, type KubeadmOptions } from "../kubeadm/index.js";
import { INIT_NODE } from "../kubeadm/values.js";
import { vipDesignSources } from "../membership/sources.js";
import type { Recipe, RuleIssue } from "../recipe.js";
import { VIP_HOLDER, vipGatePhase } from "../vip/gate.js";
import { renderHaproxyCfg } from "../vip/haproxy-cfg.js";
import { renderKeepalivedConf } from "../vip/keepalived-conf.js";
import { HAPROXY_STATS_PORT, loadBalancerPhase, VRRP_PASSWORD, vrrpPasswordOf } from "../vip/lb-phase.js";
import { priorityRules, vipEndpoint, vipRules } from "../vip/rules.js";
import { vipStatus } from "../vip/status.js";
import { keepalivedHaproxyCleanup, vipReleasePhase } from "../vip/remove.js";

/**
 * Design B (REFERENCE.md §2, seed 003): an active/standby haproxy pair on dedicated `lb` hosts, tied
 * by keepalived with kubeadm's tracked check — MASTER/BACKUP with preemption, the check (and the
 * haproxy process) weighted so a failing LB drops below every healthy one. Control-plane hosts run
 * only Kubernetes; clients and kubeadm use VIP:lbPort (6443 by default: no API server on the LBs).
 */
export const CHECK_HAPROXY = "/etc/keepalived/check_haproxy.sh";

const lbHosts = (hosts: HostSpec[]) => byRole(hosts, "lb");

/** The weight a failing LB loses: the inventory's, or the number of LB hosts (at least 2). */
export const weightOf = (inv: Inventory) =>
  clusterOf(inv, ["haproxy-pair"]).lbPair.weight ??
  Math.max(2, inv.hosts.filter((h) => h.roles.includes("lb")).length);

/**
 * LB priorities: a host's `priority` when given, otherwise 100 + (number of LBs - 1) for the first
 * LB down to 100 for the last, so neighbours differ by 1 and the whole spread stays below the
 * default weight (the number of LBs).
 */
export function lbPriorities(hosts: { name: string; priority?: number | undefined }[]): Map<string, number> {
  return new Map(hosts.map((h, i) => [h.name, h.priority ?? 100 + hosts.length - 1 - i]));
}

export function pairHaproxyCfg(v: Pick<HostView, "hosts" | "inventory">): string {
  return renderHaproxyCfg({
    lbPort: v.inventory.cluster.lbPort,
    apiServerPort: v.inventory.cluster.apiServerPort,
    backends: byRole(v.hosts, "control-plane").map((h) => ({ name: h.name, address: h.address })),
    statsPort: HAPROXY_STATS_PORT,
    healthPath: "/readyz",
  });
}

/** keepalived's check on an LB host: its haproxy answers on the loopback health endpoint. */
export function renderCheckHaproxy(): string {
  return `#!/bin/sh
# Managed by haprov. keepalived's track_script on the LB pair: exit 0 = this host's haproxy answers.
${sh`curl -sf --max-time 2 -o /dev/null ${`http://127.0.0.1:${HAPROXY_STATS_PORT}/healthz`} || exit 1`}
exit 0
`;
}

export function pairKeepalivedConf(v: HostView): string {
  const c = clusterOf(v.inventory, ["haproxy-pair"]);
  const lbs = lbHosts(v.hosts);
  const prio = lbPriorities(lbs);
  const mine = prio.get(v.host.name)!;
  const top = Math.max(...prio.values());
  return renderKeepalivedConf({
    routerId: v.host.name,
    interface: v.host.interface,
    virtualRouterId: c.virtualRouterId,
    priority: mine,
    selfAddress: v.host.address,
    peers: lbs.filter((h) => h.name !== v.host.name).map((h) => h.address),
    vip: c.vip,
    vipPrefix: c.vipPrefix,
    password: vrrpPasswordOf(v),
    checkScript: CHECK_HAPROXY,
    profile: c.vrrpProfile,
    instance: "VI_K8S_LB",
    check: "check_haproxy",
    election: {
      kind: "preempt",
      initial: mine === top ? "MASTER" : "BACKUP",
      weight: weightOf(v.inventory),
      trackProcess: c.lbPair.trackProcess,
      preemptDelaySec: c.lbPair.preemptDelay,
    },
  });
}

/**
 * The arithmetic of keepalived#2599: a failing LB loses `weight`; if any two priorities differ by
 * |weight| or more, the highest one keeps the VIP with a dead haproxy. Refused, with the numbers.
 */
function weightRules(inv: Inventory): RuleIssue[] {
  const lbs = inv.hosts.map((h, index) => ({ h, index })).filter(({ h }) => h.roles.includes("lb"));
  if (lbs.length < 2) return [];
  const prio = lbPriorities(lbs.map(({ h }) => h));
  const weight = weightOf(inv);
  const sorted = [...lbs].sort((a, b) => prio.get(b.h.name)! - prio.get(a.h.name)!);
  const hi = sorted[0]!;
  const lo = sorted.at(-1)!;
  const gap = prio.get(hi.h.name)! - prio.get(lo.h.name)!;
  if (gap < weight) return [];
  return [
    {
      path: hi.h.priority !== undefined ? ["hosts", hi.index, "priority"] : ["cluster", "lbPair", "weight"],
      message: `LB priorities ${prio.get(hi.h.name)} (${hi.h.name}) and ${prio.get(lo.h.name)} (${lo.h.name}) differ by ${gap}, not less than the weight ${weight} a failing LB loses: with its haproxy dead, ${hi.h.name} would drop only to ${prio.get(hi.h.name)! - weight} and keep the VIP (keepalived#2599). Make the gap smaller or cluster.lbPair.weight larger`,
      severity: "error",
    },
  ];
}

function kubeadmOptions(input: Pick<RecipeInput, "inventory" | "hosts">): KubeadmOptions {
  const endpoint = vipEndpoint(input.inventory);
  return {
    endpoint,
    via: "through the VIP",
    certSANs: [endpoint.host, ...byRole(input.hosts, "control-plane").map((h) => h.address)],
  };
}

/** The pair's load balancer on these hosts (`up`, and the survivors of a node removal). */
function pairLbPhase(input: RecipeInput) {
  return loadBalancerPhase(input, {
    hosts: lbHosts(input.hosts),
    endpoint: vipEndpoint(input.inventory),
    haproxyCfg: pairHaproxyCfg,
    checkScript: { path: CHECK_HAPROXY, render: renderCheckHaproxy },
    keepalivedConf: pairKeepalivedConf,
    // haproxy binds *:lbPort, not the VIP: no non-local bind needed (REFERENCE.md §0.2)
    nonlocalBind: false,
  });
}

export const designB: Recipe = {
  mode: "haproxy-pair",
  title: "an active/standby haproxy pair on dedicated hosts tied by keepalived, kubeadm behind the VIP",
  values: [VRRP_PASSWORD, VIP_HOLDER, INIT_NODE],
  phases(input) {
    const endpoint = vipEndpoint(input.inventory);
    const lbs = lbHosts(input.hosts);
    return kubeadmPhases(input, kubeadmOptions(input), {
      lb: [pairLbPhase(input), vipGatePhase(input, lbs, endpoint, "load-balancer host")],
    });
  },
  removal: {
    kubeadm: kubeadmOptions,
    stackedEtcd: true,
    // The pair drains the node (its backend gone from both haproxy.cfg, reloaded one at a time, the
    // VIP holder last); a control-plane node that is also a load balancer gives up the VIP first.
    outOfRotation: (r) => {
      const node = r.node.reachable && r.node.spec?.roles.includes("lb") ? r.node.spec : undefined;
      const lbs = lbHosts(r.hosts);
      return [
        pairLbPhase(r),
        ...(node ? [vipReleasePhase(r, node)] : []),
        vipGatePhase(r, lbs, vipEndpoint(r.inventory), "load-balancer host"),
      ];
    },
    cleanup: (r) => (r.node.spec?.roles.includes("lb") ? keepalivedHaproxyCleanup(r, CHECK_HAPROXY) : []),
  },
  rules(inv) {
    const lbs = inv.hosts.filter((h) => h.roles.includes("lb"));
    const issues: RuleIssue[] = [...vipRules(inv, "lb"), ...priorityRules(inv, "lb"), ...weightRules(inv)];
    if (lbs.length < 2)
      issues.push({
        path: ["hosts"],
        message: `mode haproxy-pair needs at least 2 hosts with role "lb", found ${lbs.length}`,
        severity: "error",
      });
    inv.hosts.forEach((h, i) => {
      if (
        h.roles.includes("lb") &&
        h.roles.includes("control-plane") &&
        inv.cluster.lbPort === inv.cluster.apiServerPort
      )
        issues.push({
          path: ["hosts", i, "roles"],
          message: `${h.name} is both a load balancer and a control-plane node, so haproxy and kube-apiserver would both bind port ${inv.cluster.lbPort}: set cluster.lbPort to another port (e.g. 8443)`,
          severity: "error",
        });
    });
    return issues;
  },
  endpoint: vipEndpoint,
  operatorEndpoint: (inv) => ({ ...vipEndpoint(inv), why: "the VIP and the load balancers' port" }),
  status: vipStatus("lb"),
  members: (host, inv) =>
    vipDesignSources(host, inv, { carrier: (h) => h.roles.includes("lb"), port: inv.cluster.lbPort }),
  lab: {
    hosts: (n) => [
      { name: "lb1", roles: ["lb"] },
      { name: "lb2", roles: ["lb"] },
      ...Array.from({ length: n }, (_, i) => ({ name: `cp${i + 1}`, roles: ["control-plane" as const] })),
    ],
    cluster: (vip) => [
      `vip: ${vip.address}`,
      `vipPrefix: ${vip.prefix}`,
      "interface: eth0",
      "virtualRouterId: 52",
    ],
  },
};
