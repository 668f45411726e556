import { clusterOf, type Inventory } from "../../config/schema.js";
import type { HostSpec } from "../../core/host.js";
import { byRole, type HostView, type RecipeInput } from "../blocks/view.js";
import { kubeadmPhases } from "../kubeadm/index.js";
import { INIT_NODE } from "../kubeadm/values.js";
import type { Recipe } from "../recipe.js";
import { vipDesignSources } from "../membership/sources.js";
import { VIP_HOLDER, vipGatePhase } from "../vip/gate.js";
import { HAPROXY_STATS_PORT, loadBalancerPhase, VRRP_PASSWORD, vrrpPasswordOf } from "../vip/lb-phase.js";
import { priorityRules, vipEndpoint, vipRules } from "../vip/rules.js";
import { renderCheckScript } from "./check-script.js";
import { controlPlaneHaproxyCfg, controlPlaneKubeadmOptions } from "../vip/control-plane-lb.js";
import { renderKeepalivedConf } from "../vip/keepalived-conf.js";
import { vipStatus } from "../vip/status.js";
import { keepalivedHaproxyCleanup, vipReleasePhase } from "../vip/remove.js";

export const CHECK_SCRIPT_PATH = "/etc/keepalived/check_apiserver.sh";

/**
 * VRRP priorities: a host's `priority` when the inventory gives one, otherwise 254, 253, … in
 * inventory order, skipping values taken by an explicit priority (they must stay distinct). High on
 * purpose: when the holder stops (a node removal, a restart) it sends priority 0, and the best
 * backup takes the VIP after its skew time, (256 − priority)/256 s — 8 ms at 254, 0.41 s at 150,
 * during which nobody holds the VIP (measured on the lab: ~20 requests reset at 150, issue #21).
 */
export function priorities(hosts: HostSpec[]): Map<string, number> {
  const explicit = new Map(
    hosts.flatMap((h) => (h.priority === undefined ? [] : [[h.name, h.priority] as const])),
  );
  const taken = new Set(explicit.values());
  const out = new Map<string, number>();
  let next = 254;
  for (const h of hosts) {
    const own = explicit.get(h.name);
    if (own !== undefined) {
      out.set(h.name, own);
      continue;
    }
    while (taken.has(next)) next--;
    out.set(h.name, next);
    taken.add(next--);
  }
  return out;
}

const vipOf = (inv: Inventory) => clusterOf(inv, ["keepalived-haproxy"]).vip;

export function checkScriptFor(v: Pick<HostView, "host" | "inventory">): string {
  return renderCheckScript({
    lbPort: v.inventory.cluster.lbPort,
    statsPort: HAPROXY_STATS_PORT,
    vip: vipOf(v.inventory),
    interface: v.host.interface,
  });
}

/**
 * The VRRP password: the inventory's when it sets one, otherwise the value the cluster's hosts
 * already use (gathered), or one generated for the first run — never stored on the operator's side.
 */
export function keepalivedConfFor(v: HostView): string {
  const cps = byRole(v.hosts, "control-plane");
  const c = clusterOf(v.inventory, ["keepalived-haproxy"]);
  return renderKeepalivedConf({
    routerId: v.host.name,
    interface: v.host.interface,
    virtualRouterId: c.virtualRouterId,
    priority: priorities(cps).get(v.host.name)!,
    selfAddress: v.host.address,
    peers: cps.filter((h) => h.name !== v.host.name).map((h) => h.address),
    vip: vipOf(v.inventory),
    vipPrefix: c.vipPrefix,
    password: vrrpPasswordOf(v),
    checkScript: CHECK_SCRIPT_PATH,
    profile: c.vrrpProfile,
  });
}

/** The load balancer of design A on these control-plane nodes (`up`, and the survivors of a removal). */
function lbPhase(input: RecipeInput) {
  return loadBalancerPhase(input, {
    hosts: byRole(input.hosts, "control-plane"),
    endpoint: vipEndpoint(input.inventory),
    haproxyCfg: controlPlaneHaproxyCfg,
    checkScript: { path: CHECK_SCRIPT_PATH, render: checkScriptFor },
    keepalivedConf: keepalivedConfFor,
    nonlocalBind: true,
  });
}

/** Design A (the default): keepalived VIP + haproxy on every control-plane node, kubeadm behind them. */
export const designA: Recipe = {
  mode: "keepalived-haproxy",
  title: "keepalived VIP + haproxy on every control-plane node, kubeadm init/join, flannel",
  values: [VRRP_PASSWORD, VIP_HOLDER, INIT_NODE],
  phases(input) {
    const endpoint = designA.endpoint(input.inventory);
    const cps = byRole(input.hosts, "control-plane");
    return kubeadmPhases(input, controlPlaneKubeadmOptions(input), {
      lb: [lbPhase(input), vipGatePhase(input, cps, endpoint, "control-plane node")],
    });
  },
  removal: {
    kubeadm: controlPlaneKubeadmOptions,
    stackedEtcd: true,
    // The survivors' haproxy backends and keepalived peers first (rolling, the holder last), then
    // the VIP off the node, answering on a survivor before anything else on the node stops.
    outOfRotation: (r) => {
      const node = r.node.reachable && r.node.spec?.roles.includes("control-plane") ? r.node.spec : undefined;
      const cps = byRole(r.hosts, "control-plane");
      return [
        lbPhase(r),
        ...(node ? [vipReleasePhase(r, node)] : []),
        vipGatePhase(r, cps, vipEndpoint(r.inventory), "control-plane node"),
      ];
    },
    cleanup: (r) => keepalivedHaproxyCleanup(r, CHECK_SCRIPT_PATH),
  },
  rules: (inv) => [
    ...vipRules(inv, "control-plane"),
    ...priorityRules(inv, "control-plane"),
    ...(inv.cluster.lbPort === inv.cluster.apiServerPort
      ? [
          {
            path: ["cluster", "lbPort"],
            message: `must differ from the API server port ${inv.cluster.apiServerPort}: the load balancer runs on control-plane nodes, where kube-apiserver already binds *:${inv.cluster.apiServerPort} (use 8443)`,
            severity: "error" as const,
          },
        ]
      : []),
  ],
  endpoint: vipEndpoint,
  operatorEndpoint: (inv) => ({ ...vipEndpoint(inv), why: "the VIP and the load balancer's port" }),
  status: vipStatus("control-plane"),
  members: (host, inv) =>
    vipDesignSources(host, inv, {
      carrier: (h) => h.roles.includes("control-plane"),
      port: inv.cluster.lbPort,
    }),
  lab: {
    hosts: (n) => Array.from({ length: n }, (_, i) => ({ name: `cp${i + 1}`, roles: ["control-plane"] })),
    cluster: (vip) => [
      `vip: ${vip.address}`,
      `vipPrefix: ${vip.prefix}`,
      "interface: eth0",
      "lbPort: 8443",
      "virtualRouterId: 51",
    ],
  },
};
