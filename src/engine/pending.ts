import type { Fact } from "../core/fact.js";
import { command } from "../core/quote.js";

/**
 * Handlers owed on a host are recorded there before the change that owes them is made, and removed
 * after they ran. A run that fails in between leaves the record, and the next run performs the
 * restart (Ansible forgets these: ansible/ansible#1350). Records are scoped by cluster and host
 * name, so one machine in two inventories keeps two ledgers.
 */
export const STATE_ROOT = "/var/lib/haprov";

export function pendingDir(cluster: string, host: string): string {
  return `${STATE_ROOT}/${cluster}/${host}/pending-handlers`;
}

function slug(handler: string): string {
  return Buffer.from(handler).toString("base64url");
}

export function pendingHandlers(dir: string): Fact<Set<string>> {
  return {
    key: `pending-handlers:${dir}`,
    script: `ls -1 ${command(dir)}`,
    parse(out, code) {
      const names = new Set<string>();
      if (code !== 0) return names;
      for (const line of out.split("\n")) {
        const s = line.trim();
        if (s) names.add(Buffer.from(s, "base64url").toString());
      }
      return names;
    },
  };
}

export function recordPending(dir: string, handlers: string[]): string {
  return `mkdir -p ${command(dir)} && touch ${handlers.map((h) => command(`${dir}/${slug(h)}`)).join(" ")}`;
}

export function clearPending(dir: string, handler: string): string {
  return command("rm", "-f", `${dir}/${slug(handler)}`);
}
