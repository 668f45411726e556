import { clusterOf, type Inventory } from "../../config/schema.js";
import type { Fact } from "../../core/fact.js";
import { sh } from "../../core/quote.js";
import type { HostHealth, StatusReader } from "../recipe.js";
import { nameValuePairs, nodeProblems, nodesText, NODES_SCRIPT } from "../kubeadm/nodes-status.js";
import { holdsVip } from "../vip/gate.js";
import { KUBE_VIP_MANIFEST, LEASE_NAME } from "./manifest.js";

/**
 * What `haprov status` reads on a kube-vip control-plane node, in its one round trip: whether it
 * holds the VIP, which kubeconfig its kube-vip manifest mounts, the lease holder as the API says,
 * its API server's health and /healthz through the VIP, and the nodes.
 */
export interface KubeVipStatus {
  holdsVip: boolean;
  /** "admin.conf", "super-admin.conf", or "none" (no manifest). */
  kubeconfig: string;
  leaseHolder: string;
  /** BGP: the peers this node has an established session with (TCP 179, as the node sees it). */
  bgpSessions: string[];
  apiserverHealthz: string;
  vipHealthz: string;
  nodes: Record<string, string> | undefined;
}

const SEP = "@@haprov-status@@";
const ADMIN = "/etc/kubernetes/admin.conf";

export const kubeVipStatus: StatusReader = {
  fact(host, inv): Fact<HostHealth> | undefined {
    if (!host.roles.includes("control-plane") || !inv.cluster.vip) return undefined;
    const code = (url: string) => sh`curl -sk --max-time 2 -o /dev/null -w ${"%{http_code}\n"} ${url}`;
    const script = [
      `${holdsVip(inv.cluster.vip)} && echo yes || echo no`,
      `echo ${SEP}`,
      sh`{ grep -oE '/etc/kubernetes/[a-z-]+[.]conf' ${KUBE_VIP_MANIFEST} 2>/dev/null | head -n 1 | sed 's#.*/##' | grep .; } || echo none`,
      `echo ${SEP}`,
      clusterOf(inv, ["kube-vip"]).kubeVip.bgp
        ? `ss -Htn state established '( dport = :179 or sport = :179 )' 2>/dev/null | awk '{ print $4 }' | sed 's/:[0-9]*$//' | sort -u | tr '\n' ' '; echo`
        : sh`kubectl --kubeconfig ${ADMIN} -n kube-system get lease ${LEASE_NAME} -o ${"jsonpath={.spec.holderIdentity}"} 2>/dev/null; echo`,
      `echo ${SEP}`,
      code(`https://${host.address}:${inv.cluster.apiServerPort}/healthz`),
      `echo ${SEP}`,
      code(`https://${inv.cluster.vip}:${inv.cluster.apiServerPort}/healthz`),
      `echo ${SEP}`,
      NODES_SCRIPT,
    ].join("\n");
    return {
      key: `health:kube-vip-status:${host.name}`,
      script: `{\n${script}\n}`,
      parse(out): HostHealth {
        const p = out.split(`${SEP}\n`).map((x) => x.trim());
        const nodes = !p[5] || p[5] === "-" ? undefined : nameValuePairs(p[5]);
        const s: KubeVipStatus = {
          holdsVip: p[0] === "yes",
          kubeconfig: p[1] || "none",
          leaseHolder: clusterOf(inv, ["kube-vip"]).kubeVip.bgp ? "" : (p[2] ?? ""),
          bgpSessions: clusterOf(inv, ["kube-vip"]).kubeVip.bgp
            ? (p[2] ?? "").split(" ").filter(Boolean)
            : [],
          apiserverHealthz: p[3] || "000",
          vipHealthz: p[4] || "000",
          nodes,
        };
        return {
          line: `vip=${s.holdsVip ? "held" : "-"} kube-vip=${s.kubeconfig} apiserver=${s.apiserverHealthz} via-vip=${s.vipHealthz}`,
          data: s as unknown as Record<string, unknown>,
        };
      },
    };
  },
  verdict(rows, inv, hosts) {
    const cps = hosts.filter((h) => h.roles.includes("control-plane"));
    const data = (n: string) => rows.get(n)?.data as KubeVipStatus | undefined;
    const answered = cps.filter((h) => data(h.name));
    const holders = answered.filter((h) => data(h.name)!.holdsVip).map((h) => h.name);
    const lease = answered.map((h) => data(h.name)!.leaseHolder).find((l) => l) ?? "";
    const problems: string[] = [];
    const bgp = clusterOf(inv, ["kube-vip"]).kubeVip.bgp;
    if (bgp)
      return bgpVerdict(
        answered.map((h) => ({ name: h.name, s: data(h.name)! })),
        cps,
        inv,
      );
    if (holders.length !== 1)
      problems.push(
        holders.length === 0 ? "no node holds the VIP" : `the VIP is held by ${holders.join(" and ")}`,
      );
    if (!lease) problems.push(`nobody holds the lease ${LEASE_NAME}`);
    else if (holders.length === 1 && holders[0] !== lease)
      problems.push(`the lease is held by ${lease} but the VIP is on ${holders[0]}: they must agree`);
    problems.push(...nodeChecks(answered.map((h) => ({ name: h.name, s: data(h.name)! }))));
    const nodes = answered.map((h) => data(h.name)!.nodes).find((n) => n);
    if (nodes)
      problems.push(
        ...nodeProblems(
          nodes,
          cps.map((h) => h.name),
        ),
      );
    const nodeText = nodesText(nodes);
    return {
      line: `VIP ${inv.cluster.vip}:${inv.cluster.apiServerPort} held by ${holders.join(", ") || "nobody"}, lease ${LEASE_NAME} held by ${lease || "nobody"}; nodes: ${nodeText}`,
      data: { vip: inv.cluster.vip, vipHolders: holders, leaseHolder: lease || null, nodes: nodes ?? null },
      problems,
    };
  },
};

type Answer = { name: string; s: KubeVipStatus };

/** What every control-plane node must show in both modes: its manifest on admin.conf, healthy API servers. */
function nodeChecks(answers: Answer[]): string[] {
  const problems: string[] = [];
  for (const { name, s } of answers) {
    if (s.kubeconfig === "none") problems.push(`${name}: no kube-vip manifest`);
    if (s.kubeconfig === "super-admin.conf")
      problems.push(`${name}: kube-vip still mounts super-admin.conf (run haprov up to switch it back)`);
    if (s.apiserverHealthz !== "200") problems.push(`${name}: API server /healthz ${s.apiserverHealthz}`);
    if (s.vipHealthz !== "200") problems.push(`${name}: /healthz through the VIP ${s.vipHealthz}`);
  }
  return problems;
}

/**
 * BGP mode: no lease and no single holder; every node carries the VIP on lo and announces it while
 * its API server is healthy, over a session with every peer. kube-vip's speaker offers no API, but
 * a session is a TCP connection on port 179 the node itself can see (issue #19): a node without an
 * established session with a peer announces nothing to it.
 */
function bgpVerdict(answers: Answer[], cps: { name: string }[], inv: Inventory) {
  const problems = nodeChecks(answers);
  const carrying = answers.filter((a) => a.s.holdsVip).map((a) => a.name);
  const peerAddrs = clusterOf(inv, ["kube-vip"]).kubeVip.bgp!.peers.map((p) => p.address);
  for (const a of answers) {
    if (!a.s.holdsVip) problems.push(`${a.name}: the VIP is not on lo (kube-vip not running there?)`);
    const missing = peerAddrs.filter((p) => !a.s.bgpSessions.includes(p));
    if (missing.length > 0)
      problems.push(
        `${a.name}: no established BGP session with ${missing.join(", ")}: it announces the VIP to nobody there`,
      );
  }
  const nodes = answers.map((a) => a.s.nodes).find((n) => n);
  if (nodes)
    problems.push(
      ...nodeProblems(
        nodes,
        cps.map((h) => h.name),
      ),
    );
  const peers = clusterOf(inv, ["kube-vip"])
    .kubeVip.bgp!.peers.map((p) => `${p.address} (AS ${p.as})`)
    .join(", ");
  return {
    line: `VIP ${inv.cluster.vip}:${inv.cluster.apiServerPort} announced over BGP by ${carrying.join(", ") || "nobody"} to ${peers}; sessions: ${
      answers.map((a) => `${a.name} ${a.s.bgpSessions.length}/${peerAddrs.length}`).join(", ") || "none read"
    }; nodes: ${nodesText(nodes)}`,
    data: {
      vip: inv.cluster.vip,
      announcedBy: carrying,
      peers: peerAddrs,
      sessions: Object.fromEntries(answers.map((a) => [a.name, a.s.bgpSessions])),
      nodes: nodes ?? null,
    },
    problems,
  };
}
