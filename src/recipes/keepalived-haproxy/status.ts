import type { Inventory } from "../../config/schema.js";
import type { Fact } from "../../core/fact.js";
import type { HostSpec } from "../../core/host.js";
import { sh } from "../../core/quote.js";
import type { HostHealth, StatusReader } from "../recipe.js";
import { holdsVip } from "../vip/gate.js";

const HAPROXY_STATS_PORT = 8404;

/** What `haprov status` reads on a control-plane node of design A, in the same one round trip. */
export interface LbStatus {
  /** MASTER, BACKUP or FAULT from keepalived's journal (this invocation), or stopped/unknown. */
  keepalived: string;
  holdsVip: boolean;
  haproxy: string;
  /** Each k8s_api backend server as haproxy sees it (UP, DOWN, MAINT…). */
  backends: Record<string, string>;
  /** HTTP status of GET /healthz: this node's API server, and through the VIP. "000" = no answer. */
  apiserverHealthz: string;
  vipHealthz: string;
  /** kubectl get nodes through the VIP (admin.conf's server), NAME → STATUS. */
  nodes: Record<string, string> | undefined;
}

const SEP = "@@haprov-status@@";

export function lbStatusFact(o: {
  vip: string;
  lbPort: number;
  address: string;
  apiServerPort: number;
}): Fact<LbStatus> {
  const script = [
    `if systemctl is-active --quiet keepalived; then id=$(systemctl show -p InvocationID --value keepalived); journalctl _SYSTEMD_INVOCATION_ID="$id" -o cat --no-pager 2>/dev/null | grep -oE 'Entering (MASTER|BACKUP|FAULT) STATE' | tail -n 1 | cut -d' ' -f2 | grep . || echo unknown; else echo stopped; fi`,
    `echo ${SEP}`,
    `${holdsVip(o.vip)} && echo yes || echo no`,
    `echo ${SEP}`,
    `systemctl is-active haproxy 2>/dev/null || true`,
    `echo ${SEP}`,
    `${sh`curl -s --max-time 2 ${`http://127.0.0.1:${HAPROXY_STATS_PORT}/stats;csv`}`} 2>/dev/null | awk -F, '$1 == "k8s_api" && $2 != "FRONTEND" && $2 != "BACKEND" { print $2 " " $18 }'`,
    `echo ${SEP}`,
    `${sh`curl -sk --max-time 2 -o /dev/null -w ${"%{http_code}\n"} ${`https://${o.address}:${o.apiServerPort}/healthz`}`}`,
    `echo ${SEP}`,
    `${sh`curl -sk --max-time 2 -o /dev/null -w ${"%{http_code}\n"} ${`https://${o.vip}:${o.lbPort}/healthz`}`}`,
    `echo ${SEP}`,
    `if [ -f /etc/kubernetes/admin.conf ]; then kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes 2>/dev/null | tail -n +2 | awk '{ print $1 " " $2 }' || true; else echo "-"; fi`,
  ].join("\n");
  return {
    key: `lb-status:${o.vip}`,
    script: `{\n${script}\n}`,
    parse(out) {
      const parts = out.split(`${SEP}\n`).map((p) => p.trim());
      const pairs = (text: string | undefined) =>
        Object.fromEntries(
          (text ?? "")
            .split("\n")
            .filter(Boolean)
            .map((l) => l.split(" ") as [string, string]),
        );
      return {
        keepalived: parts[0] || "unknown",
        holdsVip: parts[1] === "yes",
        haproxy: parts[2] || "unknown",
        backends: pairs(parts[3]),
        apiserverHealthz: parts[4] || "000",
        vipHealthz: parts[5] || "000",
        nodes: parts[6] === "-" ? undefined : pairs(parts[6]),
      };
    },
  };
}

/** Cluster-wide verdict: exactly one VIP holder, every node healthy. Problems are plain sentences. */
export function lbProblems(byHost: Record<string, LbStatus | undefined>, controlPlane: string[]): string[] {
  const problems: string[] = [];
  const answered = Object.entries(byHost).filter((e): e is [string, LbStatus] => e[1] !== undefined);
  const holders = answered.filter(([, s]) => s.holdsVip).map(([h]) => h);
  if (holders.length !== 1)
    problems.push(
      holders.length === 0
        ? "no node holds the VIP"
        : `the VIP is held by ${holders.join(" and ")} (split brain)`,
    );
  for (const [h, s] of answered) {
    if (s.keepalived !== "MASTER" && s.keepalived !== "BACKUP")
      problems.push(`${h}: keepalived ${s.keepalived}`);
    if (s.haproxy !== "active") problems.push(`${h}: haproxy ${s.haproxy}`);
    const down = Object.entries(s.backends).filter(([, st]) => st !== "UP");
    if (down.length > 0)
      problems.push(`${h}: haproxy sees ${down.map(([b, st]) => `${b} ${st}`).join(", ")}`);
    const missing = controlPlane.filter((c) => !(c in s.backends));
    if (s.haproxy === "active" && missing.length > 0)
      problems.push(`${h}: haproxy has no backend for ${missing.join(", ")}`);
    if (s.apiserverHealthz !== "200") problems.push(`${h}: API server /healthz ${s.apiserverHealthz}`);
    if (s.vipHealthz !== "200") problems.push(`${h}: /healthz through the VIP ${s.vipHealthz}`);
  }
  const nodes = answered.find(([, s]) => s.nodes)?.[1].nodes;
  if (nodes) {
    for (const c of controlPlane)
      if (nodes[c] === undefined) problems.push(`${c}: not a node of the cluster`);
      else if (nodes[c] !== "Ready") problems.push(`${c}: node ${nodes[c]}`);
  }
  return problems;
}

/** `haprov status` for design A: per control-plane node the LB state, then the cluster verdict. */
export const lbStatus: StatusReader = {
  fact(host: HostSpec, inv: Inventory): Fact<HostHealth> | undefined {
    if (!host.roles.includes("control-plane") || !inv.cluster.vip) return undefined;
    const f = lbStatusFact({
      vip: inv.cluster.vip,
      lbPort: inv.cluster.lbPort,
      address: host.address,
      apiServerPort: inv.cluster.apiServerPort,
    });
    return { ...f, key: `health:${f.key}`, parse: (out, code) => health(f.parse(out, code)) };
  },
  verdict(rows, inv, hosts) {
    const cps = hosts.filter((h) => h.roles.includes("control-plane")).map((h) => h.name);
    const byHost = Object.fromEntries(cps.map((h) => [h, rows.get(h)?.data as LbStatus | undefined]));
    const problems = lbProblems(byHost, cps);
    const holders = cps.filter((h) => byHost[h]?.holdsVip);
    const nodes = Object.values(byHost).find((s) => s?.nodes)?.nodes;
    const nodeText = nodes
      ? Object.entries(nodes)
          .map(([n, st]) => `${n} ${st}`)
          .join(", ")
      : "no cluster yet";
    return {
      line: `VIP ${inv.cluster.vip}:${inv.cluster.lbPort} held by ${holders.join(", ") || "nobody"}; nodes: ${nodeText}`,
      data: { vip: inv.cluster.vip, vipHolders: holders, nodes: nodes ?? null },
      problems,
    };
  },
};

function health(lb: LbStatus): HostHealth {
  const backends = Object.entries(lb.backends)
    .map(([b, st]) => `${b}:${st}`)
    .join(",");
  return {
    line: `keepalived=${lb.keepalived} vip=${lb.holdsVip ? "held" : "-"} haproxy=${lb.haproxy} backends=${backends || "-"} apiserver=${lb.apiserverHealthz} via-vip=${lb.vipHealthz}`,
    data: lb as unknown as Record<string, unknown>,
  };
}
