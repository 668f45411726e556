import type { Inventory } from "../../config/schema.js";
import type { Fact } from "../../core/fact.js";
import type { HostSpec } from "../../core/host.js";
import { quote, sh } from "../../core/quote.js";
import {
  etcdMembersScript,
  parseEtcdMembers,
  parseNodeKeys,
  stackedEtcdAccess,
  urlHost,
  type EtcdAccess,
} from "../kubeadm/etcd-members.js";

/**
 * Where a cluster's real membership is read from (issue #19): each source is a read-only snippet
 * run on one host and a parser of what it prints. `live` members are what the cluster *is* (etcd
 * members, Nodes, the node holding the VIP, Pacemaker's nodes, the kube-vip lease holder): one
 * outside the inventory stops `up` before any change. Members named only in haprov's own config
 * files (keepalived peers, haproxy backends) are what the last run wrote: `up` rewrites them, and
 * says so.
 */
export interface Member {
  name?: string;
  address?: string;
  /** The link-layer address it answers from (the VIP holder seen from a neighbour). */
  mac?: string;
  kind: "node" | "etcd" | "vip" | "pacemaker" | "lease" | "config";
  /** What it is, in words: "an etcd member", "a Node", "the VIP holder", "named in haproxy.cfg". */
  as: string;
  live: boolean;
  /** Config members: the host whose file names it. */
  seenOn?: string;
}

export interface MemberSource {
  id: string;
  script: string;
  parse(out: string, host: HostSpec): Member[];
  /** Address → MAC pairs this host's answer shows (its own, its neighbours'), to name a MAC. */
  macs?(out: string, host: HostSpec): [string, string][];
}

const lines = (out: string) =>
  out
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);

/**
 * etcd's members (kubeadm's stacked ones or design E's static cluster), by name and peer address,
 * and the cluster's Nodes, by name, from the same etcd (one snippet, no kubectl to start).
 */
export function etcdSource(access: EtcdAccess): MemberSource {
  return {
    id: "etcd",
    script: etcdMembersScript(access, { health: false, nodes: true }),
    parse: (out) => [
      ...(parseNodeKeys(out) ?? []).map((name): Member => ({ name, kind: "node", as: "a Node", live: true })),
      ...(parseEtcdMembers(out) ?? []).map((m): Member => ({
        ...(m.name ? { name: m.name } : {}),
        address: urlHost(m.peerUrls[0] ?? ""),
        kind: "etcd",
        as: m.learner ? "an etcd learner" : "an etcd member",
        live: true,
      })),
    ],
  };
}

/**
 * Who answers for the VIP on this host's link: the host itself, or the MAC address its neighbour
 * table gives for the VIP after a connection attempt — with every neighbour's address and MAC, so
 * the holder can be named by address when it is not a host of the inventory.
 */
export function vipHolderSource(host: HostSpec, vip: string, port: number): MemberSource {
  const nic = host.interface;
  return {
    id: "vip",
    script: [
      // a plain TCP connection (http:// to the TLS port: no handshake) is enough for ARP to resolve
      sh`if ip -4 -o addr show dev ${nic} 2>/dev/null | grep -q ${` ${vip}/`}; then echo SELF; else curl -s -o /dev/null --connect-timeout 1 -m 1 ${`http://${vip}:${port}/`} >/dev/null 2>&1; fi`,
      sh`echo "MAC $(cat ${`/sys/class/net/${nic}/address`} 2>/dev/null)"`,
      sh`ip -4 neigh show dev ${nic} 2>/dev/null | awk '$2 == "lladdr" { print "NEIGH " $1 " " $3 }'`,
    ].join("\n"),
    parse(out, h) {
      const ls = lines(out);
      if (ls.includes("SELF"))
        return [{ name: h.name, address: h.address, kind: "vip", as: "the VIP holder", live: true }];
      const mac = neighbours(ls).find(([a]) => a === vip)?.[1];
      return mac ? [{ mac, kind: "vip", as: "the VIP holder", live: true }] : [];
    },
    macs(out, h) {
      const ls = lines(out);
      const own = ls
        .find((l) => l.startsWith("MAC "))
        ?.slice(4)
        .trim();
      return [
        ...(own ? [[h.address, own] as [string, string]] : []),
        ...neighbours(ls).filter(([a]) => a !== vip),
      ];
    },
  };
}

const neighbours = (ls: string[]) =>
  ls.filter((l) => l.startsWith("NEIGH ")).map((l) => l.split(" ").slice(1, 3) as [string, string]);

/**
 * The names of the Pacemaker cluster's nodes: corosync's node list as it runs (cmap), which
 * `pcs cluster node add/remove` rewrites and reloads on every node at once. Not `crm_node -l`:
 * the controllers' peer caches keep a removed node ("lost") for a while, even after a purge.
 */
export const COROSYNC_NODES = String.raw`corosync-cmapctl -b nodelist.node 2>/dev/null | sed -n 's/^nodelist\.node\.[0-9]*\.name (str) = //p'`;

/** Pacemaker's nodes: corosync's running node list, where corosync runs. */
export const pacemakerNodesSource: MemberSource = {
  id: "pacemaker",
  script: `if systemctl is-active --quiet corosync; then ${COROSYNC_NODES}; fi`,
  parse: (out) =>
    lines(out).flatMap((l) => {
      const name = l.trim();
      return name ? [{ name, kind: "pacemaker", as: "a Pacemaker node", live: true }] : [];
    }),
};

/** The node holding kube-vip's leader Lease, asked of this node's own API server. */
export function leaseHolderSource(host: HostSpec, apiServerPort: number, lease: string): MemberSource {
  return {
    id: "lease",
    script: `if [ -f /etc/kubernetes/admin.conf ]; then ${sh`kubectl --kubeconfig /etc/kubernetes/admin.conf --server ${`https://${host.address}:${apiServerPort}`} --request-timeout=5s -n kube-system get lease ${lease} -o ${"jsonpath={.spec.holderIdentity}"}`} 2>/dev/null; echo; fi`,
    parse: (out) =>
      lines(out)
        .slice(0, 1)
        .map((name) => ({
          name,
          kind: "lease",
          as: `the holder of the kube-vip Lease ${lease}`,
          live: true,
        })),
  };
}

/** Peers and backends named in haprov's own config files on this host (rewritten by `up`). */
export function configPeersSource(host: HostSpec): MemberSource {
  return {
    id: "configs",
    script: [
      `sed -n '/unicast_peer/,/}/p' /etc/keepalived/keepalived.conf 2>/dev/null | grep -oE '([0-9]{1,3}\\.){3}[0-9]{1,3}' | sed 's/^/KEEPALIVED /'`,
      `awk '$1 == "server" && $3 ~ /:/ { print "HAPROXY " $2 " " $3 }' /etc/haproxy/haproxy.cfg 2>/dev/null`,
      // nginx's stream proxy (design E): "server ADDRESS:PORT …;" lines
      `grep -qs 'Managed by haprov' /etc/nginx/nginx.conf && awk '$1 == "server" && $2 ~ /:[0-9]+;?$/ { sub(/;$/, "", $2); print "NGINX " $2 }' /etc/nginx/nginx.conf 2>/dev/null`,
    ].join("\n"),
    parse: (out) =>
      lines(out).flatMap((l): Member[] => {
        const [kind, a, b] = l.split(" ");
        if (kind === "KEEPALIVED" && a)
          return [
            { address: a, kind: "config", as: "named in keepalived.conf", seenOn: host.name, live: false },
          ];
        if (kind === "NGINX" && a)
          return [
            {
              address: a.replace(/:\d+$/, ""),
              kind: "config",
              as: "named in nginx.conf",
              seenOn: host.name,
              live: false,
            },
          ];
        if (kind === "HAPROXY" && a && b)
          return [
            {
              name: a,
              address: b.replace(/:\d+$/, ""),
              kind: "config",
              as: "named in haproxy.cfg",
              seenOn: host.name,
              live: false,
            },
          ];
        return [];
      }),
  };
}

/** One host's membership read: every source's snippet in a section of its own. */
export function membershipScript(sources: MemberSource[]): string {
  return sources
    .map((s) => `echo ${quote(`@@member:${s.id}`)}\n{\n${s.script}\n} 2>/dev/null || true`)
    .join("\n");
}

/** Each source's part of membershipScript's output, by source id. */
export function sectionsOf(out: string): Map<string, string> {
  const parts = new Map<string, string>();
  let current: string | undefined;
  for (const l of out.split("\n")) {
    const m = /^@@member:(.+)$/.exec(l);
    if (m) {
      current = m[1]!;
      parts.set(current, "");
    } else if (current) parts.set(current, `${parts.get(current)}${l}\n`);
  }
  return parts;
}

/** Cuts membershipScript's output into each source's part and parses it. */
export function parseMembership(out: string, sources: MemberSource[], host: HostSpec): Member[] {
  const parts = sectionsOf(out);
  return sources.flatMap((s) => (parts.has(s.id) ? s.parse(parts.get(s.id)!, host) : []));
}

/**
 * The kubeadm part, on a control-plane node with a stacked etcd member: the etcd members and the
 * Nodes, from that member (design E reads them from its own etcd hosts instead).
 */
export function kubeadmSources(host: HostSpec, inv: Inventory, o: { stackedEtcd: boolean }): MemberSource[] {
  if (!host.roles.includes("control-plane") || !o.stackedEtcd) return [];
  const cps = inv.hosts.filter((h) => h.roles.includes("control-plane")).map((h) => h.address);
  return [etcdSource(stackedEtcdAccess(cps))];
}

/**
 * A VIP design's sources (A, B, D): the kubeadm part on control-plane nodes; on the hosts that carry
 * the VIP (`carrier`), who answers for the VIP and the peers named in haprov's own configs.
 */
export function vipDesignSources(
  host: HostSpec,
  inv: Inventory,
  o: { carrier: (h: HostSpec) => boolean; port: number; extra?: MemberSource[] },
): MemberSource[] {
  const vip = inv.cluster.vip;
  return [
    ...kubeadmSources(host, inv, { stackedEtcd: true }),
    ...(o.carrier(host) && vip
      ? [vipHolderSource(host, vip, o.port), configPeersSource(host), ...(o.extra ?? [])]
      : []),
  ];
}

/** One host's membership read as a fact (for `status`, which reads it in its own batch). */
export function membershipFact(sources: MemberSource[]): Fact<string> {
  return { key: "membership", script: membershipScript(sources), parse: (out) => out };
}
