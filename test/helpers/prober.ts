import { request } from "node:https";

/** One GET with a 1 s budget; true on HTTP 200. TLS is not verified (the stand-in's own CA). */
export function get200(
  url: string,
  opts: { cert?: string; key?: string; ca?: string } = {},
): Promise<boolean> {
  return new Promise((done) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 1000, ...opts }, (res) => {
      res.resume();
      res.on("end", () => done(res.statusCode === 200));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => done(false));
    req.end();
  });
}

/**
 * Sends requests one after another (every `everyMs`) until stopped and keeps the outcome of each,
 * timestamped: the "VIP reachable throughout" and failover measurements of the e2e tests.
 */
export function startProber(url: string, everyMs = 100) {
  const results: { at: number; ok: boolean }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = Date.now();
      results.push({ at, ok: await get200(url) });
      const wait = everyMs - (Date.now() - at);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    results,
    failed: () => results.filter((r) => !r.ok).length,
    /** Milliseconds from `since` until the first success after it (undefined: none yet). */
    firstOkAfter: (since: number) => {
      const r = results.find((x) => x.at >= since && x.ok);
      return r ? r.at - since : undefined;
    },
    async stop() {
      running = false;
      await loop;
      return results;
    },
  };
}
