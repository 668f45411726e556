import { clusterOf, VIP_MODES, type Inventory } from "../../config/schema.js";
import { sameSubnet } from "../../config/ipv4.js";
import type { Role } from "../../core/host.js";
import type { Endpoint, RuleIssue } from "../recipe.js";

/** The API endpoint of the VIP designs: the VIP and the load balancer's port. */
export const vipEndpoint = (inv: Inventory): Endpoint => ({
  host: clusterOf(inv, VIP_MODES).vip,
  port: inv.cluster.lbPort,
});

/**
 * Every host that can hold the VIP is in the VIP's L2 subnet (VRRP, ARP and IPaddr2 move it only
 * within one subnet). The VIP itself is required by the mode's schema.
 */
export function vipRules(inv: Inventory, carriers: Role): RuleIssue[] {
  const c = clusterOf(inv, VIP_MODES);
  return inv.hosts.flatMap((h, i) =>
    h.roles.includes(carriers) && !sameSubnet(h.address, c.vip, c.vipPrefix)
      ? [
          {
            path: ["hosts", i, "address"],
            message: `host ${h.name} (${h.address}) is outside the VIP's subnet ${c.vip}/${c.vipPrefix}: the VIP can only move within one L2 subnet`,
            severity: "error" as const,
          },
        ]
      : [],
  );
}

/** VRRP priorities given in the inventory must differ among the hosts that carry the VIP. */
export function priorityRules(inv: Inventory, carriers: Role): RuleIssue[] {
  const seen = new Map<number, string>();
  return inv.hosts.flatMap((h, i) => {
    if (!h.roles.includes(carriers) || h.priority === undefined) return [];
    const other = seen.get(h.priority);
    if (!other) {
      seen.set(h.priority, h.name);
      return [];
    }
    return [
      {
        path: ["hosts", i, "priority"],
        message: `${h.priority} is also the priority of ${other}: VRRP priorities must be distinct`,
        severity: "error" as const,
      },
    ];
  });
}
