import type { Fact } from "../core/fact.js";
import { command } from "../core/quote.js";

/**
 * Handlers owed on a host are recorded there before the change that owes them is made, and removed
 * after they ran. A run that fails in between leaves the record, and the next run performs the
 * restart (Ansible forgets these: ansible/ansible#1350).
 */
export const PENDING_DIR = "/var/lib/haprov/pending-handlers";

function slug(handler: string): string {
  return Buffer.from(handler).toString("base64url");
}

export const pendingHandlers: Fact<Set<string>> = {
  key: "pending-handlers",
  script: `ls -1 ${PENDING_DIR}`,
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

export function recordPending(handlers: string[]): string {
  return `mkdir -p ${PENDING_DIR} && touch ${handlers.map((h) => command(`${PENDING_DIR}/${slug(h)}`)).join(" ")}`;
}

export function clearPending(handler: string): string {
  return command("rm", "-f", `${PENDING_DIR}/${slug(handler)}`);
}
