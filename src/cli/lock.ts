import { hostname, userInfo } from "node:os";
import { HaprovError } from "../core/errors.js";
import type { HostConnection } from "../core/transport.js";
import { acquireRunLock, describeHolder, peekRunLock, type RunLock } from "../engine/run-lock.js";
import type { Session } from "./session.js";

/**
 * Where the cluster's lock lives (issue #19): on every control-plane host that answers, taken in
 * name order, and at least a majority of them — whatever the inventory's order or --limit, any
 * two majorities share a host, so two runs always meet, even from inventories written before and
 * after a change of hosts. Without control-plane hosts (a playbook of your own), on the first host
 * by name.
 */
async function lockHosts(
  s: Session,
  o: { needMajority: boolean },
): Promise<{ host: string; conn: HostConnection }[]> {
  const cps = s.hosts.filter((h) => h.roles.includes("control-plane"));
  const pool = [...(cps.length > 0 ? cps : s.hosts)].sort((a, b) => a.name.localeCompare(b.name));
  if (cps.length === 0) {
    for (const h of pool) {
      const conn = await s.connect(h).catch(() => undefined);
      if (conn) return [{ host: h.name, conn }];
    }
    return [];
  }
  const reached = await Promise.all(
    pool.map(async (h) => ({ host: h.name, conn: await s.connect(h).catch(() => undefined) })),
  );
  const up = reached.filter((r): r is { host: string; conn: HostConnection } => r.conn !== undefined);
  const majority = Math.floor(cps.length / 2) + 1;
  if (o.needMajority && up.length < majority)
    throw new HaprovError(
      `only ${up.length} of ${cps.length} control-plane hosts answer (${up.map((u) => u.host).join(", ") || "none"}): the run lock is taken on a majority of them, so that two runs always meet`,
      { hint: "bring the control-plane hosts back, or check SSH to them" },
    );
  return up;
}

/** `--wait-lock 90s|10m|1h` in milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new HaprovError(`--wait-lock: "${text}" is not a duration such as 30s, 10m or 1h`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
}

/** Takes the run lock for a run that changes hosts (`up`). */
export async function lockForRun(
  s: Session,
  verb: string,
  waitLock: string | undefined,
  say: (l: string) => void,
): Promise<RunLock> {
  const waitMs = waitLock ? parseDuration(waitLock) : 0;
  return acquireRunLock(
    await lockHosts(s, { needMajority: true }),
    s.loaded.inventory.cluster.name,
    {
      user: userInfo().username,
      machine: hostname(),
      pid: process.pid,
      started: new Date().toISOString(),
      verb,
    },
    { waitMs, onWait: (e) => say(`waiting for the lock: ${e.message}`) },
  );
}

/** For plan: a sentence when another run holds the lock right now. */
export async function runInProgress(s: Session): Promise<string | undefined> {
  for (const { host, conn } of await lockHosts(s, { needMajority: false })) {
    const holder = await peekRunLock(conn, s.loaded.inventory.cluster.name).catch(() => undefined);
    if (holder)
      return `a run is changing this cluster now: ${holder === "unknown" ? "one that did not say who it is" : describeHolder(holder)} (lock on ${host}); this plan may be out of date when it ends`;
  }
  return undefined;
}
