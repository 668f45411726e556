import type { InputIssue } from "../core/errors.js";
import { cidrContains, cidrsOverlap, isNetworkOrBroadcast, parseCidr, specialAddress } from "./ipv4.js";
import { vipSettingsOf, type HostEntry, type Inventory } from "./schema.js";
import type { Locator } from "./zod-issues.js";
import { formatPath } from "./yaml-source.js";

/**
 * Cross-field rules zod cannot express, for every mode. Each issue carries the YAML path of the
 * offending field. The rules of one HA design (which hosts carry the VIP, where the load balancer
 * runs) are its recipe's (src/recipes/<mode>/).
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
  addresses(inv, add);
  ports(inv, add);
  networks(inv, add);
  bastion(inv, add);

  const cp = inv.hosts.filter((h) => h.roles.includes("control-plane"));
  const v = vipSettingsOf(inv.cluster);
  if (v) {
    for (const h of inv.hosts) {
      if (h.address === v.vip) {
        add(["cluster", "vip"], `equals the address of host ${h.name}: the VIP must be a free address`);
      }
    }
    if (isNetworkOrBroadcast(v.vip, v.vipPrefix)) {
      add(["cluster", "vip"], `is the network or broadcast address of its /${v.vipPrefix} subnet`);
    }
  }

  if (cp.length === 0) {
    add(["hosts"], 'expected at least one host with role "control-plane"');
  } else if (cp.length === 1) {
    add(["hosts"], "only one control-plane host: the control plane will not be highly available", "warning");
  } else if (cp.length % 2 === 0) {
    const msg = `${cp.length} control-plane hosts: an even count tolerates no more failures than ${cp.length - 1} (etcd quorum is ${Math.floor(cp.length / 2) + 1})`;
    add(
      ["hosts"],
      inv.cluster.strict ? `${msg}; use an odd number (cluster.strict is on)` : msg,
      inv.cluster.strict ? "error" : "warning",
    );
  }

  return issues;
}

type Add = (path: PropertyKey[], message: string, severity?: InputIssue["severity"]) => void;

/** No host or VIP on an address that cannot be one. Loopback hosts only warn: tests stand in with them. */
function addresses(inv: Inventory, add: Add): void {
  const vip = inv.cluster.vip;
  const why = vip ? specialAddress(vip) : undefined;
  if (why) add(["cluster", "vip"], `${vip} is ${why}: a VIP must be a unicast address of the hosts' subnet`);
  inv.hosts.forEach((h, i) => {
    const special = specialAddress(h.address);
    if (!special) return;
    const loopback = special.startsWith("a loopback");
    add(
      ["hosts", i, "address"],
      loopback
        ? `${h.address} is ${special}: only this machine answers there (fine for tests, not for a cluster)`
        : `${h.address} is ${special}: a host needs a unicast address`,
      loopback ? "warning" : "error",
    );
  });
}

/** Ports that something else already binds on the same host (REFERENCE.md §7, haprov's own 8404). */
export const RESERVED_PORTS: ReadonlyMap<number, string> = new Map([
  [22, "sshd"],
  [2379, "etcd (clients)"],
  [2380, "etcd (peers)"],
  [8404, "haproxy's stats and health endpoint (haprov)"],
  [10250, "the kubelet"],
  [10257, "kube-controller-manager"],
  [10259, "kube-scheduler"],
]);

function ports(inv: Inventory, add: Add): void {
  for (const field of ["lbPort", "apiServerPort"] as const) {
    const owner = RESERVED_PORTS.get(inv.cluster[field]);
    if (owner)
      add(
        ["cluster", field],
        `${inv.cluster[field]} is taken by ${owner} on the same hosts: choose another port`,
      );
  }
}

/** podCidr and serviceCidr: apart from each other, from the hosts and from the VIP's subnet. */
function networks(inv: Inventory, add: Add): void {
  const c = inv.cluster;
  const vip = vipSettingsOf(c);
  const pod = parseCidr(c.podCidr);
  const svc = parseCidr(c.serviceCidr);
  if (!pod.hostBitsClear || !svc.hostBitsClear) return; // the format error says it already
  if (cidrsOverlap(pod, svc))
    add(
      ["cluster", "podCidr"],
      `${c.podCidr} overlaps serviceCidr ${c.serviceCidr}: pods and services need separate networks`,
    );
  for (const [field, net, text] of [
    ["podCidr", pod, c.podCidr],
    ["serviceCidr", svc, c.serviceCidr],
  ] as const) {
    const inside = inv.hosts.filter((h) => cidrContains(net, h.address)).map((h) => h.name);
    if (inside.length > 0)
      add(
        ["cluster", field],
        `${text} contains the address of ${inside.join(", ")}: it must not overlap the hosts' network`,
      );
    else if (vip && cidrsOverlap(net, parseCidr(`${vip.vip}/${vip.vipPrefix}`)))
      add(["cluster", field], `${text} overlaps the VIP's subnet ${vip.vip}/${vip.vipPrefix}`);
  }
}

/** A jump host in front of the cluster cannot be one of the cluster's own hosts. */
function bastion(inv: Inventory, add: Add): void {
  const b = inv.ssh.bastion;
  if (!b) return;
  const same = inv.hosts.find((h) => h.address === b.address || h.name === b.address);
  if (same)
    add(
      ["ssh", "bastion", "address"],
      `is host ${same.name} of this cluster: a jump host must be outside it (every connection would depend on one node)`,
    );
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
