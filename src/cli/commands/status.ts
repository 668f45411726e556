import pLimit from "p-limit";
import { errorMessage } from "../../core/errors.js";
import { ExitCode } from "../../core/exit-codes.js";
import { buildBatch } from "../../engine/fact-batch.js";
import { osRelease } from "../../facts/os-release.js";
import { serviceState, type ServiceState } from "../../facts/service.js";
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
  try {
    const rows = await Promise.all(
      s.hosts.map((h) =>
        limit(async (): Promise<HostStatus> => {
          const t0 = performance.now();
          const base = { host: h.name, address: h.address, services: {} };
          try {
            const conn = await s.connect(h);
            const connectMs = Math.round(performance.now() - t0);
            const facts = [osRelease, ...services.map((n) => serviceState(n))];
            const batch = buildBatch(facts);
            const res = await conn.exec(batch.script);
            const read = batch.parse(res.stdout);
            const svc: HostStatus["services"] = {};
            for (const n of services) {
              const st: ServiceState = read.get(serviceState(n));
              svc[n] = { active: st.exists ? st.active : "not-installed", enabled: st.enabled || "-" };
            }
            return { ...base, reachable: true, connectMs, os: read.get(osRelease).prettyName, services: svc };
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
            ? `${r.host.padEnd(12)} ssh ok (${r.connectMs} ms)  ${r.os}  ${svc}\n`
            : `${r.host.padEnd(12)} UNREACHABLE  ${r.error}\n`,
        ),
      );
    }
    return rows.every((r) => r.reachable) ? ExitCode.ok : ExitCode.stepFailed;
  } finally {
    await s.close();
  }
}
