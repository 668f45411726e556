import { clusterOf, type Inventory } from "../../config/schema.js";
import type { Fact } from "../../core/fact.js";
import type { HostSpec } from "../../core/host.js";
import { sh } from "../../core/quote.js";
import type { HostHealth, StatusReader } from "../recipe.js";
import { nameValuePairs, nodeProblems, nodesText, NODES_SCRIPT } from "../kubeadm/nodes-status.js";
import { HAPROXY_STATS_PORT } from "../vip/lb-phase.js";
import { clientUrl, etcdctl } from "./etcd.js";
import { ETCD_CA_KEY } from "./pki.js";

/**
 * What `haprov status` reads on a design E host, in its one round trip: on an etcd member, its own
 * endpoint status (leader, raft index, DB size) and health; on a Kubernetes node, its proxy, the
 * backends as haproxy sees them, and /healthz through 127.0.0.1:lbPort; on a control-plane node,
 * its own API server and the nodes.
 */
export interface LocalProxyStatus {
  etcd:
    | {
        health: "healthy" | "unhealthy";
        leader: boolean;
        raftIndex: number;
        dbSize: number;
        /** This host keeps the etcd CA's key. */
        caKey: boolean;
      }
    | undefined;
  proxy: string;
  backends: Record<string, string>;
  proxyHealthz: string;
  apiserverHealthz: string;
  nodes: Record<string, string> | undefined;
}

const SEP = "@@haprov-status@@";

export function localProxyStatusFact(host: HostSpec, inv: Inventory): Fact<LocalProxyStatus> {
  const c = clusterOf(inv, ["etcd-local-proxy"]);
  const etcd = host.roles.includes("etcd");
  const node = host.roles.includes("control-plane") || host.roles.includes("worker");
  const api = host.roles.includes("control-plane");
  const code = (url: string) => sh`curl -sk --max-time 2 -o /dev/null -w ${"%{http_code}\n"} ${url}`;
  const none = "echo -";
  const kind = c.localProxy.proxy;
  const script = [
    !etcd ? none : `${etcdctl([clientUrl(host)])} endpoint status -w json 2>/dev/null || echo -`,
    `echo ${SEP}`,
    !etcd
      ? none
      : `${etcdctl([clientUrl(host)])} endpoint health >/dev/null 2>&1 && echo healthy || echo unhealthy`,
    !etcd ? "" : sh`test -f ${ETCD_CA_KEY} && echo ca-key`,
    `echo ${SEP}`,
    !node ? none : sh`systemctl is-active ${kind} 2>/dev/null || true`,
    `echo ${SEP}`,
    !node || kind !== "haproxy"
      ? none
      : `${sh`curl -s --max-time 2 ${`http://127.0.0.1:${HAPROXY_STATS_PORT}/stats;csv`}`} 2>/dev/null | awk -F, '$1 == "k8s_api" && $2 != "FRONTEND" && $2 != "BACKEND" { print $2 " " $18 }'`,
    `echo ${SEP}`,
    !node ? none : code(`https://127.0.0.1:${c.lbPort}/healthz`),
    `echo ${SEP}`,
    !api ? none : code(`https://${host.address}:${c.apiServerPort}/healthz`),
    `echo ${SEP}`,
    !api ? none : NODES_SCRIPT,
  ].join("\n");
  return {
    key: `local-proxy-status:${host.name}`,
    script: `{\n${script}\n}`,
    parse(out) {
      const parts = out.split(`${SEP}\n`).map((p) => p.trim());
      return {
        etcd: etcd ? parseEtcd(parts[0] ?? "-", parts[1] ?? "unhealthy") : undefined,
        proxy: parts[2] || "unknown",
        backends: !parts[3] || parts[3] === "-" ? {} : nameValuePairs(parts[3]),
        proxyHealthz: parts[4] || "000",
        apiserverHealthz: parts[5] || "000",
        nodes: !parts[6] || parts[6] === "-" ? undefined : nameValuePairs(parts[6]),
      };
    },
  };
}

/** `etcdctl endpoint status -w json`: [{Status: {header: {member_id, raft_term}, leader, raftIndex, dbSize}}]. */
function parseEtcd(json: string, healthAndKey: string): LocalProxyStatus["etcd"] {
  const [health, key] = healthAndKey.split("\n");
  let s: { header?: { member_id?: number }; leader?: number; raftIndex?: number; dbSize?: number } = {};
  try {
    s = (JSON.parse(json) as { Status?: typeof s }[])[0]?.Status ?? {};
  } catch {
    // no answer: the member is down
  }
  return {
    health: health === "healthy" ? "healthy" : "unhealthy",
    leader: s.leader !== undefined && s.leader === s.header?.member_id,
    raftIndex: s.raftIndex ?? 0,
    dbSize: s.dbSize ?? 0,
    caKey: key?.trim() === "ca-key",
  };
}

export const localProxyStatus: StatusReader = {
  fact(host, inv): Fact<HostHealth> {
    const f = localProxyStatusFact(host, inv);
    return { ...f, key: `health:${f.key}`, parse: (out, code) => health(f.parse(out, code)) };
  },
  verdict(rows, inv, hosts) {
    const data = (h: HostSpec) => rows.get(h.name)?.data as LocalProxyStatus | undefined;
    const members = hosts.filter((h) => h.roles.includes("etcd"));
    const cps = hosts.filter((h) => h.roles.includes("control-plane"));
    const nodes = hosts.filter((h) => h.roles.includes("control-plane") || h.roles.includes("worker"));
    const problems: string[] = [];
    const healthy = members.filter((h) => data(h)?.etcd?.health === "healthy");
    const quorum = Math.floor(members.length / 2) + 1;
    if (healthy.length < quorum)
      problems.push(
        `etcd has ${healthy.length} healthy members of ${members.length}: no quorum (needs ${quorum})`,
      );
    for (const h of members)
      if (data(h) && data(h)?.etcd?.health !== "healthy") problems.push(`${h.name}: etcd member unhealthy`);
    const leaders = members.filter((h) => data(h)?.etcd?.leader).map((h) => h.name);
    for (const h of nodes) {
      const s = data(h);
      if (!s) continue;
      if (s.proxy !== "active")
        problems.push(`${h.name}: ${clusterOf(inv, ["etcd-local-proxy"]).localProxy.proxy} ${s.proxy}`);
      if (s.proxyHealthz !== "200")
        problems.push(`${h.name}: /healthz through the local proxy ${s.proxyHealthz}`);
      const down = Object.entries(s.backends).filter(([, st]) => st !== "UP");
      if (down.length > 0)
        problems.push(`${h.name}: its proxy sees ${down.map(([b, st]) => `${b} ${st}`).join(", ")}`);
    }
    for (const h of cps) {
      const s = data(h);
      if (s && s.apiserverHealthz !== "200")
        problems.push(`${h.name}: API server /healthz ${s.apiserverHealthz}`);
    }
    const nodeList = cps.map((h) => data(h)?.nodes).find((n) => n);
    if (nodeList)
      problems.push(
        ...nodeProblems(
          nodeList,
          nodes.map((h) => h.name),
        ),
      );
    const nodeText = nodesText(nodeList);
    const notes: string[] = [];
    // The etcd CA's key signs every new member's certificates (issue #21): one copy is one disk.
    const keepers = members.filter((h) => data(h)?.etcd?.caKey).map((h) => h.name);
    const answered = members.filter((h) => data(h)).length;
    if (answered === members.length && keepers.length === 0)
      notes.push(
        `warning: no etcd host keeps the etcd CA's key (${ETCD_CA_KEY}): no new etcd member can get certificates; restore it from a backup`,
      );
    else if (keepers.length === 1 && members.length > 1)
      notes.push(
        `warning: the etcd CA's key is only on ${keepers[0]} (${ETCD_CA_KEY}): if that disk is lost, no new etcd member can get certificates. Copy it (mode 0600, owner root) to another etcd host or to a backup`,
      );
    return {
      line: `etcd ${healthy.length}/${members.length} healthy, leader ${leaders.join(", ") || "none"}; ${clusterOf(inv, ["etcd-local-proxy"]).localProxy.proxy} on 127.0.0.1:${inv.cluster.lbPort} of every node; nodes: ${nodeText}`,
      data: {
        etcd: {
          healthy: healthy.map((h) => h.name),
          members: members.map((h) => h.name),
          leader: leaders[0] ?? null,
        },
        proxy: clusterOf(inv, ["etcd-local-proxy"]).localProxy.proxy,
        nodes: nodeList ?? null,
      },
      problems,
      notes,
    };
  },
};

function health(s: LocalProxyStatus): HostHealth {
  const parts = [
    s.etcd
      ? `etcd=${s.etcd.health}${s.etcd.leader ? " (leader)" : ""} raft=${s.etcd.raftIndex} db=${Math.round(s.etcd.dbSize / 1024)}KiB`
      : "",
    s.proxy === "-" ? "" : `proxy=${s.proxy}`,
    Object.keys(s.backends).length
      ? `backends=${Object.entries(s.backends)
          .map(([b, st]) => `${b}:${st}`)
          .join(",")}`
      : "",
    s.proxyHealthz === "-" ? "" : `via-proxy=${s.proxyHealthz}`,
    s.apiserverHealthz === "-" ? "" : `apiserver=${s.apiserverHealthz}`,
  ];
  return { line: parts.filter(Boolean).join(" "), data: s as unknown as Record<string, unknown> };
}
