import type { Inventory } from "../../config/schema.js";
import type { Fact } from "../../core/fact.js";
import type { HostSpec } from "../../core/host.js";
import { sh } from "../../core/quote.js";
import type { HostHealth, StatusReader } from "../recipe.js";
import { nameValuePairs, nodeProblems, nodesText, NODES_SCRIPT } from "../kubeadm/nodes-status.js";
import { holdsVip } from "./gate.js";
import { HAPROXY_STATS_PORT } from "./lb-phase.js";

/**
 * What `haprov status` reads on a host of a VIP design, in the same one round trip: on a host that
 * runs the load balancer, keepalived's state, the VIP and haproxy's backends; on a control-plane
 * node, its API server and the nodes; on both, /healthz through the VIP. A part not read is "-".
 */
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
  /** This host runs keepalived + haproxy / an API server (default: both, as in design A). */
  lb?: boolean;
  api?: boolean;
}): Fact<LbStatus> {
  const lb = o.lb ?? true;
  const api = o.api ?? true;
  const none = "echo -";
  const script = [
    !lb
      ? none
      : `if systemctl is-active --quiet keepalived; then id=$(systemctl show -p InvocationID --value keepalived); journalctl _SYSTEMD_INVOCATION_ID="$id" -o cat --no-pager 2>/dev/null | grep -oE 'Entering (MASTER|BACKUP|FAULT) STATE' | tail -n 1 | cut -d' ' -f2 | grep . || echo unknown; else echo stopped; fi`,
    `echo ${SEP}`,
    !lb ? none : `${holdsVip(o.vip)} && echo yes || echo no`,
    `echo ${SEP}`,
    !lb ? none : `systemctl is-active haproxy 2>/dev/null || true`,
    `echo ${SEP}`,
    !lb
      ? none
      : `${sh`curl -s --max-time 2 ${`http://127.0.0.1:${HAPROXY_STATS_PORT}/stats;csv`}`} 2>/dev/null | awk -F, '$1 == "k8s_api" && $2 != "FRONTEND" && $2 != "BACKEND" { print $2 " " $18 }'`,
    `echo ${SEP}`,
    !api
      ? none
      : `${sh`curl -sk --max-time 2 -o /dev/null -w ${"%{http_code}\n"} ${`https://${o.address}:${o.apiServerPort}/healthz`}`}`,
    `echo ${SEP}`,
    `${sh`curl -sk --max-time 2 -o /dev/null -w ${"%{http_code}\n"} ${`https://${o.vip}:${o.lbPort}/healthz`}`}`,
    `echo ${SEP}`,
    !api ? none : NODES_SCRIPT,
  ].join("\n");
  return {
    key: `lb-status:${o.vip}:${lb}:${api}`,
    script: `{\n${script}\n}`,
    parse(out) {
      const parts = out.split(`${SEP}\n`).map((p) => p.trim());
      return {
        keepalived: parts[0] || "unknown",
        holdsVip: parts[1] === "yes",
        haproxy: parts[2] || "unknown",
        backends: parts[3] === "-" ? {} : nameValuePairs(parts[3]),
        apiserverHealthz: parts[4] || "000",
        vipHealthz: parts[5] || "000",
        nodes: parts[6] === "-" ? undefined : nameValuePairs(parts[6]),
      };
    },
  };
}

/**
 * Cluster-wide verdict: exactly one VIP holder among the load-balancer hosts, each of them healthy
 * with every control-plane node UP behind it, every API server healthy. Plain sentences.
 */
export function lbProblems(
  byHost: Record<string, LbStatus | undefined>,
  controlPlane: string[],
  lbHosts: string[] = controlPlane,
): string[] {
  const problems: string[] = [];
  const answered = Object.entries(byHost).filter((e): e is [string, LbStatus] => e[1] !== undefined);
  const holders = answered.filter(([h, s]) => lbHosts.includes(h) && s.holdsVip).map(([h]) => h);
  if (holders.length !== 1)
    problems.push(
      holders.length === 0
        ? "no node holds the VIP"
        : `the VIP is held by ${holders.join(" and ")} (split brain)`,
    );
  for (const [h, s] of answered) {
    if (lbHosts.includes(h)) {
      if (s.keepalived !== "MASTER" && s.keepalived !== "BACKUP")
        problems.push(`${h}: keepalived ${s.keepalived}`);
      if (s.haproxy !== "active") problems.push(`${h}: haproxy ${s.haproxy}`);
      const down = Object.entries(s.backends).filter(([, st]) => st !== "UP");
      if (down.length > 0)
        problems.push(`${h}: haproxy sees ${down.map(([b, st]) => `${b} ${st}`).join(", ")}`);
      const missing = controlPlane.filter((c) => !(c in s.backends));
      if (s.haproxy === "active" && missing.length > 0)
        problems.push(`${h}: haproxy has no backend for ${missing.join(", ")}`);
    }
    if (controlPlane.includes(h) && s.apiserverHealthz !== "200")
      problems.push(`${h}: API server /healthz ${s.apiserverHealthz}`);
    if (s.vipHealthz !== "200") problems.push(`${h}: /healthz through the VIP ${s.vipHealthz}`);
  }
  const nodes = answered.find(([, s]) => s.nodes)?.[1].nodes;
  if (nodes) problems.push(...nodeProblems(nodes, controlPlane));
  return problems;
}

/**
 * `haprov status` for a VIP design whose load balancer runs on the hosts with role `lbRole`
 * (design A: the control-plane nodes themselves; the LB pair: the `lb` hosts).
 */
export function vipStatus(lbRole: "control-plane" | "lb"): StatusReader {
  return {
    fact(host: HostSpec, inv: Inventory): Fact<HostHealth> | undefined {
      const lb = host.roles.includes(lbRole);
      const api = host.roles.includes("control-plane");
      if ((!lb && !api) || !inv.cluster.vip) return undefined;
      const f = lbStatusFact({
        vip: inv.cluster.vip,
        lbPort: inv.cluster.lbPort,
        address: host.address,
        apiServerPort: inv.cluster.apiServerPort,
        lb,
        api,
      });
      return { ...f, key: `health:${f.key}`, parse: (out, code) => health(f.parse(out, code)) };
    },
    verdict(rows, inv, hosts) {
      const cps = hosts.filter((h) => h.roles.includes("control-plane")).map((h) => h.name);
      const lbs = hosts.filter((h) => h.roles.includes(lbRole)).map((h) => h.name);
      const names = [...new Set([...lbs, ...cps])];
      const byHost = Object.fromEntries(names.map((h) => [h, rows.get(h)?.data as LbStatus | undefined]));
      const problems = lbProblems(byHost, cps, lbs);
      const holders = lbs.filter((h) => byHost[h]?.holdsVip);
      const nodes = Object.values(byHost).find((s) => s?.nodes)?.nodes;
      const nodeText = nodesText(nodes);
      return {
        line: `VIP ${inv.cluster.vip}:${inv.cluster.lbPort} held by ${holders.join(", ") || "nobody"}; nodes: ${nodeText}`,
        data: { vip: inv.cluster.vip, vipHolders: holders, nodes: nodes ?? null },
        problems,
      };
    },
  };
}

function health(lb: LbStatus): HostHealth {
  const backends = Object.entries(lb.backends)
    .map(([b, st]) => `${b}:${st}`)
    .join(",");
  const lbPart =
    lb.keepalived === "-"
      ? ""
      : `keepalived=${lb.keepalived} vip=${lb.holdsVip ? "held" : "-"} haproxy=${lb.haproxy} backends=${backends || "-"} `;
  const apiPart = lb.apiserverHealthz === "-" ? "" : `apiserver=${lb.apiserverHealthz} `;
  return {
    line: `${lbPart}${apiPart}via-vip=${lb.vipHealthz}`,
    data: lb as unknown as Record<string, unknown>,
  };
}
