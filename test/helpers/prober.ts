import { request } from "node:https";

/**
 * One GET with a 1 s budget on a connection of its own (no keep-alive: each probe is a new client,
 * as a health checker or a fresh kubectl is); true on HTTP 200. TLS is not verified (the
 * stand-in's own CA).
 */
export function get200(
  url: string,
  opts: { cert?: string; key?: string; ca?: string } = {},
): Promise<boolean> {
  return new Promise((done) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 1000, agent: false, ...opts }, (res) => {
      res.resume();
      res.on("end", () => done(res.statusCode === 200));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => done(false));
    req.end();
  });
}

/**
 * Sends a request every `everyMs` until stopped and keeps the outcome of each, stamped with its
 * start: the "VIP reachable throughout" and failover measurements of the e2e tests and bench.
 */
export function startProber(url: string, everyMs = 100) {
  const results: { at: number; done: number; ok: boolean }[] = [];
  const inFlight = new Set<Promise<void>>();
  // A request starts every everyMs whether or not the previous one answered: a request stuck in
  // its 1 s timeout must not hide the moment the VIP answers again.
  const timer = setInterval(() => {
    const at = Date.now();
    const p: Promise<void> = get200(url).then((ok) => {
      results.push({ at, done: Date.now(), ok });
      inFlight.delete(p);
    });
    inFlight.add(p);
  }, everyMs);
  return {
    results,
    failed: () => results.filter((r) => !r.ok).length,
    /** When each failed request started (ISO times), to set beside a run's events. */
    failedAt: () => results.filter((r) => !r.ok).map((r) => new Date(r.at).toISOString()),
    /**
     * Milliseconds from `since` until a request started after it first came back with 200 (its
     * answer, not its start: a SYN retransmitted into the new holder would otherwise count early).
     */
    firstOkAfter: (since: number) => {
      const ok = results.filter((x) => x.at >= since && x.ok).map((x) => x.done);
      return ok.length > 0 ? Math.min(...ok) - since : undefined;
    },
    async stop() {
      clearInterval(timer);
      await Promise.all([...inFlight]);
      results.sort((a, b) => a.at - b.at);
      return results;
    },
  };
}

/**
 * Right after `up` (issue #19): `count` requests, one every 250 ms (20 in 5 s), each on a
 * connection of its own; how many failed (0 when the endpoint is steady).
 */
export async function steadyFailures(url: string, count = 20, everyMs = 250): Promise<number> {
  let failed = 0;
  for (let i = 0; i < count; i++) {
    const t0 = Date.now();
    if (!(await get200(url))) failed += 1;
    await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - t0))));
  }
  return failed;
}
