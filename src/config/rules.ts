import type { InputIssue } from "../core/errors.js";
import { isNetworkOrBroadcast, sameSubnet } from "./ipv4.js";
import type { HostEntry, Inventory } from "./schema.js";
import type { Locator } from "./zod-issues.js";
import { formatPath } from "./yaml-source.js";

/**
 * Cross-field rules zod cannot express. Each issue carries the YAML path of the offending field.
 * Which hosts carry the VIP and the LB depends on the HA mode (see the seeds).
 */
export function checkRules(inv: Inventory, locate: Locator): InputIssue[] {
  const issues: InputIssue[] = [];
  const add = (path: PropertyKey[], message: string, severity: InputIssue["severity"] = "error") =>
    issues.push({
      location: locate(path),
      path: formatPath(path),
      message,
      severity,
    });

  duplicates(inv.hosts, "name", add);
  duplicates(inv.hosts, "address", add);

  const { cluster } = inv;
  const cp = inv.hosts.filter((h) => h.roles.includes("control-plane"));
  const vipHolders = vipCarriers(inv);

  if (cluster.mode !== "etcd-local-proxy") {
    if (!cluster.vip) add(["cluster"], `needs "vip": mode ${cluster.mode} serves the API on a virtual IP`);
  }
  if (cluster.vip) {
    for (const h of inv.hosts) {
      if (h.address === cluster.vip) {
        add(["cluster", "vip"], `equals the address of host ${h.name}: the VIP must be a free address`);
      }
    }
    if (isNetworkOrBroadcast(cluster.vip, cluster.vipPrefix)) {
      add(["cluster", "vip"], `is the network or broadcast address of its /${cluster.vipPrefix} subnet`);
    }
    for (const { host, index } of vipHolders) {
      if (!sameSubnet(host.address, cluster.vip, cluster.vipPrefix)) {
        add(
          ["hosts", index, "address"],
          `host ${host.name} (${host.address}) is outside the VIP's subnet ${cluster.vip}/${cluster.vipPrefix}: VRRP/ARP can only move the VIP within one L2 subnet`,
        );
      }
    }
  }

  const lbOnControlPlane =
    cluster.mode === "keepalived-haproxy" ||
    cluster.mode === "pacemaker" ||
    inv.hosts.some((h) => h.roles.includes("lb") && h.roles.includes("control-plane"));
  if (lbOnControlPlane && cluster.lbPort === cluster.apiServerPort) {
    add(
      ["cluster", "lbPort"],
      `must differ from the API server port ${cluster.apiServerPort}: the load balancer runs on control-plane nodes, where kube-apiserver already binds *:${cluster.apiServerPort} (use 8443)`,
    );
  }

  if (cp.length === 0) {
    add(["hosts"], 'expected at least one host with role "control-plane"');
  } else if (cp.length === 1) {
    add(["hosts"], "only one control-plane host: the control plane will not be highly available", "warning");
  } else if (cp.length % 2 === 0) {
    const msg = `${cp.length} control-plane hosts: an even count tolerates no more failures than ${cp.length - 1} (etcd quorum is ${Math.floor(cp.length / 2) + 1})`;
    add(
      ["hosts"],
      cluster.strict ? `${msg}; use an odd number (cluster.strict is on)` : msg,
      cluster.strict ? "error" : "warning",
    );
  }

  if (cluster.mode === "haproxy-pair") {
    const lbs = inv.hosts.filter((h) => h.roles.includes("lb"));
    if (lbs.length < 2)
      add(["hosts"], `mode haproxy-pair needs at least 2 hosts with role "lb", found ${lbs.length}`);
  }

  const seen = new Map<number, string>();
  vipHolders.forEach(({ host, index }) => {
    if (host.priority === undefined) return;
    const other = seen.get(host.priority);
    if (other)
      add(
        ["hosts", index, "priority"],
        `${host.priority} is also the priority of ${other}: VRRP priorities must be distinct`,
      );
    else seen.set(host.priority, host.name);
  });
  return issues;
}

/** Hosts that run keepalived / kube-vip / pacemaker for the VIP, with their inventory index. */
export function vipCarriers(inv: Inventory): { host: HostEntry; index: number }[] {
  const role = inv.cluster.mode === "haproxy-pair" ? "lb" : "control-plane";
  if (inv.cluster.mode === "etcd-local-proxy") return [];
  return inv.hosts.flatMap((host, index) => (host.roles.includes(role) ? [{ host, index }] : []));
}

function duplicates(
  hosts: HostEntry[],
  field: "name" | "address",
  add: (path: PropertyKey[], message: string) => void,
): void {
  const seen = new Map<string, number>();
  hosts.forEach((h, i) => {
    const first = seen.get(h[field]);
    if (first !== undefined)
      add(["hosts", i, field], `duplicate ${field} "${h[field]}" (also hosts[${first}])`);
    else seen.set(h[field], i);
  });
}
