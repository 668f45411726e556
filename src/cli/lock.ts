import { hostname, userInfo } from "node:os";
import { HaprovError } from "../core/errors.js";
import type { HostConnection } from "../core/transport.js";
import { acquireRunLock, describeHolder, peekRunLock, type RunLock } from "../engine/run-lock.js";
import type { Session } from "./session.js";

/**
 * Where the cluster's lock lives: the first control-plane host in inventory order that answers
 * (the first host when there is none) — whatever --limit says, so every run of the cluster meets
 * on the same host. One lock, on one host: the other hosts see no extra session.
 */
async function lockHost(s: Session): Promise<{ host: string; conn: HostConnection }[]> {
  const cps = s.hosts.filter((h) => h.roles.includes("control-plane"));
  for (const h of cps.length > 0 ? cps : s.hosts) {
    const conn = await s.connect(h).catch(() => undefined);
    if (conn) return [{ host: h.name, conn }];
  }
  return [];
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
    await lockHost(s),
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
  for (const { host, conn } of await lockHost(s)) {
    const holder = await peekRunLock(conn, s.loaded.inventory.cluster.name).catch(() => undefined);
    if (holder)
      return `a run is changing this cluster now: ${holder === "unknown" ? "one that did not say who it is" : describeHolder(holder)} (lock on ${host}); this plan may be out of date when it ends`;
  }
  return undefined;
}
