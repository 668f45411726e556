import pLimit from "p-limit";
import { errorMessage } from "../../core/errors.js";
import { ExitCode } from "../../core/exit-codes.js";
import { buildBatch } from "../../engine/fact-batch.js";
import { osRelease } from "../../facts/os-release.js";
import { serviceState, type ServiceState } from "../../facts/service.js";
import { lbProblems, lbStatusFact, type LbStatus } from "../../recipes/keepalived-haproxy/status.js";
import { out } from "../output.js";
import { openSession, type CommonOptions } from "../session.js";

interface HostStatus {
  host: string;
  address: string;
  reachable: boolean;
  connectMs: number;
  error?: string;
  os?: string;
  services: Record<string, { active: string; enabled: string }>;
  /** Design A control-plane nodes: keepalived, VIP, haproxy backends, API health. */
  lb?: LbStatus;
}

/** Per host: SSH reachability, OS, and the state of the services the playbook manages (one round trip). */
export async function statusCommand(o: CommonOptions): Promise<number> {
  const s = await openSession(o, "optional");
  const services = [
    ...new Set(
      (s.playbook?.steps.flat() ?? [])
        .filter((x) => x.type === "service")
        .map((x) => (x.params as { name: string }).name),
    ),
  ];
  const limit = pLimit(s.concurrency);
  const cluster = s.loaded.inventory.cluster;
  // The HA checks belong to the mode's own playbook; with --playbook prepare (or yours) status
  // reports reachability and that playbook's services only.
  const designA =
    cluster.mode === "keepalived-haproxy" &&
    cluster.vip !== undefined &&
    s.playbook?.data.name === "keepalived-haproxy";
  try {
    const rows = await Promise.all(
      s.hosts.map((h) =>
        limit(async (): Promise<HostStatus> => {
          const t0 = performance.now();
          const base = { host: h.name, address: h.address, services: {} };
          try {
            const conn = await s.connect(h);
            const connectMs = Math.round(performance.now() - t0);
            const lbFact =
              designA && h.roles.includes("control-plane")
                ? lbStatusFact({
                    vip: cluster.vip!,
                    lbPort: cluster.lbPort,
                    address: h.address,
                    apiServerPort: cluster.apiServerPort,
                  })
                : undefined;
            const facts = [osRelease, ...services.map((n) => serviceState(n)), ...(lbFact ? [lbFact] : [])];
            const batch = buildBatch(facts);
            const res = await conn.exec(batch.script);
            const read = batch.parse(res.stdout);
            const svc: HostStatus["services"] = {};
            for (const n of services) {
              const st: ServiceState = read.get(serviceState(n));
              svc[n] = { active: st.exists ? st.active : "not-installed", enabled: st.enabled || "-" };
            }
            return {
              ...base,
              reachable: true,
              connectMs,
              os: read.get(osRelease).prettyName,
              services: svc,
              ...(lbFact ? { lb: read.get(lbFact) } : {}),
            };
          } catch (e) {
            return {
              ...base,
              reachable: false,
              connectMs: Math.round(performance.now() - t0),
              error: errorMessage(e),
            };
          }
        }),
      ),
    );
    for (const r of rows) {
      if (o.json) {
        out(`${JSON.stringify(s.redactor.redactDeep({ event: "status", ...r }))}\n`);
        continue;
      }
      const svc = Object.entries(r.services)
        .map(([n, v]) => `${n}=${v.active}/${v.enabled}`)
        .join(" ");
      out(
        s.redactor.redact(
          r.reachable
            ? `${r.host.padEnd(12)} ssh ok (${r.connectMs} ms)  ${r.os}  ${svc}${r.lb ? `\n${lbLine(r.lb)}` : ""}\n`
            : `${r.host.padEnd(12)} UNREACHABLE  ${r.error}\n`,
        ),
      );
    }
    let problems: string[] = [];
    if (designA) {
      const cps = s.hosts.filter((h) => h.roles.includes("control-plane")).map((h) => h.name);
      const byHost = Object.fromEntries(rows.filter((r) => cps.includes(r.host)).map((r) => [r.host, r.lb]));
      problems = lbProblems(byHost, cps);
      const holders = rows.filter((r) => r.lb?.holdsVip).map((r) => r.host);
      const nodes = rows.find((r) => r.lb?.nodes)?.lb?.nodes;
      const summary = { vip: cluster.vip, vipHolders: holders, nodes: nodes ?? null, problems };
      if (o.json) out(`${JSON.stringify(s.redactor.redactDeep({ event: "cluster", ...summary }))}\n`);
      else {
        const nodeText = nodes
          ? Object.entries(nodes)
              .map(([n, st]) => `${n} ${st}`)
              .join(", ")
          : "no cluster yet";
        out(
          s.redactor.redact(
            `VIP ${cluster.vip}:${cluster.lbPort} held by ${holders.join(", ") || "nobody"}; nodes: ${nodeText}\n` +
              (problems.length ? problems.map((p) => `  ! ${p}\n`).join("") : "  healthy\n"),
          ),
        );
      }
    }
    return rows.every((r) => r.reachable) && problems.length === 0 ? ExitCode.ok : ExitCode.stepFailed;
  } finally {
    await s.close();
  }
}

function lbLine(lb: LbStatus): string {
  const backends = Object.entries(lb.backends)
    .map(([b, st]) => `${b}:${st}`)
    .join(",");
  return `             keepalived=${lb.keepalived} vip=${lb.holdsVip ? "held" : "-"} haproxy=${lb.haproxy} backends=${backends || "-"} apiserver=${lb.apiserverHealthz} via-vip=${lb.vipHealthz}`;
}
