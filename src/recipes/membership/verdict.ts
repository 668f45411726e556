import type { HostSpec } from "../../core/host.js";
import { parseMembership, sectionsOf, type Member, type MemberSource } from "./sources.js";

/** A member of the cluster that no inventory host is, with everything it was seen as. */
export interface ForeignMember {
  /** "cp1 (172.31.200.11)", "172.31.200.11", "the host with MAC 02:42:…". */
  label: string;
  name?: string;
  address?: string;
  /** What it is in the running cluster, in words, each once: "an etcd member", "a Node". */
  as: string[];
  /** Where haprov's own configs name it: "named in haproxy.cfg" → the hosts whose file does. */
  named: Record<string, string[]>;
  /** It is part of the running cluster (not only named in haprov's own config files). */
  live: boolean;
}

export interface MembershipView {
  /** Some host could say what the cluster is (false: no cluster yet, or nobody answered). */
  known: boolean;
  foreign: ForeignMember[];
  /** Kubernetes hosts of the inventory that are no Node of the cluster yet. */
  newcomers: string[];
  /** Inventory hosts that are Nodes of the cluster. */
  nodes: string[];
  /** Inventory hosts (or foreign members) that are etcd members of the cluster. */
  etcd: string[];
}

/**
 * What the cluster really is, against the inventory (issue #19): every host's membership read
 * (sources.ts) merged; a member that matches no inventory host by name or address is foreign. The
 * VIP seen only as a MAC address is named by the address that MAC answers for, when any host's
 * neighbour table knows it.
 */
export function membershipVerdict(
  answers: Record<string, string>,
  sourcesOf: (h: HostSpec) => MemberSource[],
  hosts: HostSpec[],
): MembershipView {
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const read: Member[] = [];
  const macs = new Map<string, string>(); // MAC → address
  for (const [name, out] of Object.entries(answers)) {
    const h = byName.get(name);
    if (!h || !out) continue;
    const sources = sourcesOf(h);
    read.push(...parseMembership(out, sources, h));
    const parts = sectionsOf(out);
    for (const s of sources)
      for (const [addr, mac] of s.macs?.(parts.get(s.id) ?? "", h) ?? [])
        if (!macs.has(mac)) macs.set(mac, addr);
  }
  const resolved = read.map((m) =>
    m.mac && !m.address && macs.has(m.mac) ? { ...m, address: macs.get(m.mac)! } : m,
  );
  const inInventory = (m: Member) =>
    hosts.find(
      (h) =>
        (m.name !== undefined && m.name === h.name) || (m.address !== undefined && m.address === h.address),
    );

  const foreign: ForeignMember[] = [];
  for (const m of resolved.filter((x) => !inInventory(x))) {
    const same = foreign.find((f) => (m.name && f.name === m.name) || (m.address && f.address === m.address));
    const f =
      same ??
      (foreign[
        foreign.push({
          label: "",
          as: [],
          named: {},
          live: false,
          ...(m.mac && !m.address ? { mac: m.mac } : {}),
        }) - 1
      ] as ForeignMember);
    if (m.name) f.name ??= m.name;
    if (m.address) f.address ??= m.address;
    f.live ||= m.live;
    if (m.seenOn) f.named[m.as] = [...new Set([...(f.named[m.as] ?? []), m.seenOn])];
    else if (!f.as.includes(m.as)) f.as.push(m.as);
  }
  for (const f of foreign)
    f.label =
      f.name && f.address
        ? `${f.name} (${f.address})`
        : (f.name ?? f.address ?? `the host with MAC ${(f as { mac?: string }).mac ?? "?"}`);

  const order = (n: string) => {
    const i = hosts.findIndex((h) => h.name === n);
    return i < 0 ? hosts.length : i;
  };
  const nodeMembers = resolved.filter((m) => m.kind === "node");
  const isNode = (h: HostSpec) => nodeMembers.some((m) => m.name === h.name);
  const kube = hosts.filter((h) => h.roles.includes("control-plane") || h.roles.includes("worker"));
  const etcdMembers = resolved.filter((m) => m.kind === "etcd");
  return {
    known: resolved.some((m) => m.live),
    foreign,
    newcomers: nodeMembers.length > 0 ? kube.filter((h) => !isNode(h)).map((h) => h.name) : [],
    nodes: kube.filter(isNode).map((h) => h.name),
    etcd: [...new Set(etcdMembers.map((m) => inInventory(m)?.name ?? m.name ?? m.address ?? "?"))].sort(
      (a, b) => order(a) - order(b),
    ),
  };
}

const list = (xs: string[]) =>
  xs.length <= 1 ? xs.join("") : `${xs.slice(0, -1).join(", ")} and ${xs.at(-1)}`;
const namedText = (f: ForeignMember) =>
  list(Object.entries(f.named).map(([as, on]) => `${as} on ${on.join(", ")}`));

/** The blocking sentences: members of the running cluster that the inventory lacks. */
export function membershipProblems(v: MembershipView): string[] {
  return v.foreign
    .filter((f) => f.live)
    .map(
      (f) =>
        `${f.label} is ${list(f.as)} of this cluster${Object.keys(f.named).length ? ` (and ${namedText(f)})` : ""}, but not in the inventory: put it back in the inventory, or take it out of the cluster first: haprov node remove ${f.name ?? f.address ?? "NODE"} (with the host still in the inventory; --unreachable when it is gone)`,
    );
}

/** Sentences that inform: hosts still to join, stale names in haprov's own configs. */
export function membershipNotes(v: MembershipView): string[] {
  return [
    ...v.newcomers.map((n) => `${n} is not a member of the cluster yet: up joins it`),
    ...v.foreign
      .filter((f) => !f.live)
      .map((f) => `${f.label} is ${namedText(f)} but no member of the cluster: up rewrites them without it`),
  ];
}
