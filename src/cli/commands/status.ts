import pLimit from "p-limit";
import { errorMessage } from "../../core/errors.js";
import { ExitCode } from "../../core/exit-codes.js";
import { buildBatch } from "../../engine/fact-batch.js";
import { osRelease } from "../../facts/os-release.js";
import { serviceState, type ServiceState } from "../../facts/service.js";
import type { HostHealth } from "../../recipes/recipe.js";
import { membershipFact } from "../../recipes/membership/sources.js";
import { membershipNotes, membershipProblems, membershipVerdict } from "../../recipes/membership/verdict.js";
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
  /** The HA mode's own view of this host (keepalived, VIP, haproxy backends, API health…). */
  health?: HostHealth["data"];
  healthLine?: string;
  /** The host's raw membership read (recipes/membership). */
  members?: string;
}

/**
 * Per host, in one round trip: SSH reachability, OS, the services of the playbook's own phases, and
 * the HA mode's health checks (its recipe's status reader) — then the mode's cluster verdict.
 */
export async function statusCommand(o: CommonOptions): Promise<number> {
  const s = await openSession(o, "optional");
  const services = [
    ...new Set(
      (s.playbook?.entries ?? []).flatMap((e) =>
        e.kind === "yaml"
          ? e.steps.filter((x) => x.type === "service").map((x) => (x.params as { name: string }).name)
          : [],
      ),
    ),
  ];
  const limit = pLimit(s.concurrency);
  const inv = s.loaded.inventory;
  // The HA checks belong to the mode's own recipe: with --playbook prepare (or yours) status
  // reports reachability and that playbook's services only.
  const reader = s.playbook?.recipe === inv.cluster.mode ? s.recipe.status : undefined;
  try {
    const rows = await Promise.all(
      s.hosts.map((h) =>
        limit(async (): Promise<HostStatus> => {
          const t0 = performance.now();
          const base = { host: h.name, address: h.address, services: {} };
          try {
            const conn = await s.connect(h);
            const connectMs = Math.round(performance.now() - t0);
            const healthFact = reader?.fact(h, inv);
            const sources = reader ? s.recipe.members(h, inv) : [];
            const members = sources.length > 0 ? membershipFact(sources) : undefined;
            const facts = [
              osRelease,
              ...services.map((n) => serviceState(n)),
              ...(healthFact ? [healthFact] : []),
              ...(members ? [members] : []),
            ];
            const batch = buildBatch(facts);
            const res = await conn.exec(batch.script);
            const read = batch.parse(res.stdout);
            const svc: HostStatus["services"] = {};
            for (const n of services) {
              const st: ServiceState = read.get(serviceState(n));
              svc[n] = { active: st.exists ? st.active : "not-installed", enabled: st.enabled || "-" };
            }
            const health = healthFact ? read.get(healthFact) : undefined;
            return {
              ...base,
              ...(members ? { members: read.get(members) } : {}),
              reachable: true,
              connectMs,
              os: read.get(osRelease).prettyName,
              services: svc,
              ...(health ? { health: health.data, healthLine: health.line } : {}),
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
        const { healthLine: _line, health, members: _members, ...rest } = r;
        out(
          `${JSON.stringify(s.redactor.redactDeep({ event: "status", ...rest, ...(health ? { lb: health } : {}) }))}\n`,
        );
        continue;
      }
      const svc = Object.entries(r.services)
        .map(([n, v]) => `${n}=${v.active}/${v.enabled}`)
        .join(" ");
      out(
        s.redactor.redact(
          r.reachable
            ? `${r.host.padEnd(12)} ssh ok (${r.connectMs} ms)  ${r.os}  ${svc}${r.healthLine ? `\n             ${r.healthLine}` : ""}\n`
            : `${r.host.padEnd(12)} UNREACHABLE  ${r.error}\n`,
        ),
      );
    }
    let problems: string[] = [];
    let notes: string[] = [];
    if (reader) {
      const byHost = new Map(
        rows.map((r) => [r.host, r.health ? { line: r.healthLine ?? "", data: r.health } : undefined]),
      );
      const verdict = reader.verdict(byHost, inv, s.hosts);
      // The cluster's real membership against the inventory (issue #19): a member outside it (a
      // VIP holder, an etcd member, a Node) is a problem, whatever the mode's own checks say.
      const view = membershipVerdict(
        Object.fromEntries(rows.flatMap((r) => (r.members ? [[r.host, r.members]] : []))),
        (h) => s.recipe.members(h, inv),
        s.hosts,
      );
      problems = [...verdict.problems, ...membershipProblems(view)];
      notes = [...(verdict.notes ?? []), ...membershipNotes(view)];
      verdict.data.members = { nodes: view.nodes, etcd: view.etcd, outside: view.foreign, notes };
      if (o.json)
        out(`${JSON.stringify(s.redactor.redactDeep({ event: "cluster", ...verdict.data, problems }))}\n`);
      else
        out(
          s.redactor.redact(
            `${verdict.line}\n${problems.length ? problems.map((p) => `  ! ${p}\n`).join("") : "  healthy\n"}${notes.map((n) => `  - ${n}\n`).join("")}`,
          ),
        );
    }
    return rows.every((r) => r.reachable) && problems.length === 0 ? ExitCode.ok : ExitCode.stepFailed;
  } finally {
    await s.close();
  }
}
