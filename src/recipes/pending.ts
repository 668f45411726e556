import type { Role } from "../core/host.js";
import type { Recipe } from "./recipe.js";
import { vipRules } from "./vip/rules.js";

/**
 * The modes whose phases are not written yet: their inventory rules, endpoint and lab topology
 * are known (so `validate`, `render` of their inventories and `haprov lab up --mode` work), but
 * they have no `phases`, and `haprov up` says so instead of pretending.
 */
const cps = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ name: `cp${i + 1}`, roles: ["control-plane"] as Role[] }));
const vipLines = (vip: { address: string; prefix: number }, lbPort: number) => [
  `vip: ${vip.address}`,
  `vipPrefix: ${vip.prefix}`,
  "interface: eth0",
  `lbPort: ${lbPort}`,
];

export const designC: Recipe = {
  mode: "kube-vip",
  title: "kube-vip as a static pod on every control-plane node (not written yet)",
  values: [],
  rules: (inv) => vipRules(inv, "control-plane"),
  endpoint: (inv) => ({ host: inv.cluster.vip ?? "", port: inv.cluster.apiServerPort }),
  operatorEndpoint: (inv) => ({
    host: inv.cluster.vip ?? "",
    port: inv.cluster.apiServerPort,
    why: "the VIP",
  }),
  lab: { hosts: cps, cluster: (vip) => vipLines(vip, 6443) },
};
