import { change, noop } from "../../core/action.js";
import { command } from "../../core/quote.js";
import type { BoundStep } from "../../core/step.js";
import { pathExists } from "../../facts/file-state.js";

/**
 * Files that must not exist (a removed node's keepalived.conf, so its keepalived can never take the
 * VIP back): removed when present, one `rm` for all of them.
 */
export function filesAbsent(name: string, paths: string[]): BoundStep {
  const facts = paths.map((p) => pathExists(p));
  return {
    name,
    type: "files-absent",
    notify: [],
    facts: () => facts,
    files: () => [],
    plan(read) {
      const present = paths.filter((_, i) => read.get(facts[i]!));
      if (present.length === 0) return noop(`none of ${paths.join(", ")} exists`);
      return change(`remove ${present.join(", ")}`, [
        { kind: "exec", command: command("rm", "-f", "--", ...present) },
      ]);
    },
  };
}
