import { byRole } from "../blocks/view.js";
import { kubeadmPhases } from "../kubeadm/index.js";
import { INIT_NODE } from "../kubeadm/values.js";
import type { Recipe } from "../recipe.js";
import { pacemakerNodesSource, vipDesignSources } from "../membership/sources.js";
import { VIP_HOLDER, vipGatePhase } from "../vip/gate.js";
import { controlPlaneKubeadmOptions } from "../vip/control-plane-lb.js";
import { vipEndpoint } from "../vip/rules.js";
import { clusterPhase } from "./cluster.js";
import { pacemakerRemoval } from "./remove.js";
import { rules } from "./rules.js";
import { stackPhase } from "./stack.js";
import { pacemakerStatus } from "./status.js";
import { PCMK_MEMBER } from "./values.js";

/**
 * Design D (REFERENCE.md §4, seed 002) in its kubeadm form: a Pacemaker/Corosync cluster, built and
 * kept with pcs, owns the VIP (IPaddr2) and a cloned haproxy (systemd:haproxy, haproxy.service
 * disabled in systemd) on the control-plane nodes; kubeadm runs behind VIP:lbPort as in design A.
 * The seed's active/passive controller-manager/scheduler group does not apply to kubeadm's static
 * pods, which elect their own leaders (README).
 */
export const designD: Recipe = {
  mode: "pacemaker",
  title: "a Pacemaker/Corosync cluster (pcs) holds the VIP and a cloned haproxy, kubeadm behind the VIP",
  values: [PCMK_MEMBER, VIP_HOLDER, INIT_NODE],
  phases(input) {
    const cps = byRole(input.hosts, "control-plane");
    const endpoint = vipEndpoint(input.inventory);
    return kubeadmPhases(input, controlPlaneKubeadmOptions(input), {
      lb: [
        stackPhase(input, cps),
        clusterPhase(input, cps),
        vipGatePhase(input, cps, endpoint, "control-plane node"),
      ],
    });
  },
  removal: pacemakerRemoval,
  rules,
  endpoint: vipEndpoint,
  operatorEndpoint: (inv) => ({ ...vipEndpoint(inv), why: "the VIP and the load balancer's port" }),
  status: pacemakerStatus,
  members: (host, inv) =>
    vipDesignSources(host, inv, {
      carrier: (h) => h.roles.includes("control-plane"),
      port: inv.cluster.lbPort,
      extra: [pacemakerNodesSource],
    }),
  lab: {
    hosts: (n) => Array.from({ length: n }, (_, i) => ({ name: `cp${i + 1}`, roles: ["control-plane"] })),
    cluster: (vip) => [
      `vip: ${vip.address}`,
      `vipPrefix: ${vip.prefix}`,
      "interface: eth0",
      "lbPort: 8443",
      "pacemaker: { fencing: disabled }",
    ],
  },
};
