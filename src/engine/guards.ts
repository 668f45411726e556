import { errorMessage } from "../core/errors.js";
import { quorumRefusal, type Guard } from "../core/guard.js";
import type { HostConnection } from "../core/transport.js";
import { readFacts, type KnownFacts } from "./fact-batch.js";
import type { GuardCheck } from "./executor.js";

/**
 * The engine's check of a destructive action's guards (core/guard.ts): "fresh at start" against
 * the run's first read of the host (kept for the whole run, never refreshed), "quorum" against a
 * live read of the members right before the action, "kept elsewhere" against a live read of the
 * other hosts' copies. Anything that cannot be shown refuses.
 */
export function guardChecker(o: {
  /** The host's answers from the run's first round trip, before anything changed. */
  baseline(host: string): KnownFacts | undefined;
  connOf(host: string): HostConnection | undefined;
}): GuardCheck {
  return async (g: Guard, host: string) => {
    switch (g.kind) {
      case "fresh-at-start": {
        const known = o.baseline(host);
        if (!known?.has(g.state.key))
          return `what ${host} had when the run began is not known (its first read did not answer)`;
        const found = known.get(g.state);
        return found.length > 0
          ? `${host} had ${g.what} when the run began (${found.join(", ")}), which this run did not make`
          : undefined;
      }
      case "quorum": {
        if (g.matters) {
          const self = o.connOf(host);
          if (!self) return `${host} is not connected`;
          const read = await readFacts(self, [g.matters]).catch(() => undefined);
          if (read && !read.get(g.matters)) return undefined;
        }
        const on = g.on ?? host;
        const conn = o.connOf(on);
        if (!conn) return `${on} is not connected, so the ${g.group} members cannot be read`;
        try {
          const read = await readFacts(conn, [g.probe]);
          return quorumRefusal(g.group, read.get(g.probe), g.member, g.effect);
        } catch (e) {
          return `the ${g.group} members could not be read on ${on}: ${errorMessage(e)}`;
        }
      }
      case "kept-elsewhere": {
        const asked: string[] = [];
        for (const other of g.on.filter((h) => h !== host)) {
          const conn = o.connOf(other);
          if (!conn) {
            asked.push(`${other} not connected`);
            continue;
          }
          try {
            if ((await readFacts(conn, [g.copy])).get(g.copy)) return undefined;
            asked.push(`${other} has none`);
          } catch (e) {
            asked.push(`${other} could not be read: ${errorMessage(e)}`);
          }
        }
        return `no other host keeps ${g.what} (${asked.join("; ") || "no other host to ask"})`;
      }
    }
  };
}
