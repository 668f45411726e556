import type { EventListener, StepStatus } from "../../core/events.js";
import { assertNever } from "../../core/events.js";
import { formatRecap } from "./recap.js";

/**
 * Timestamped lines for CI logs and pipes (no TTY). By default: what changed, what failed, one
 * line per phase and the recap — a converged rerun is a screenful. With `-v` also every step
 * that was already right or did not apply, each with its reason in words, and the connections.
 */
export function plainRenderer(
  write: (line: string) => void,
  opts: { verbose: boolean; showDiffs: boolean },
): EventListener {
  const ts = () => new Date().toISOString();
  const line = (s: string) => write(`${ts()} ${s}\n`);
  const counts = new Map<string, Record<StepStatus, number>>();
  const count = (phase: string, status: StepStatus) => {
    const c = counts.get(phase) ?? { ok: 0, changed: 0, failed: 0, skipped: 0 };
    c[status] += 1;
    counts.set(phase, c);
  };
  let dryRun = false;
  return (e) => {
    switch (e.kind) {
      case "run-start":
        dryRun = e.dryRun;
        line(
          `${e.dryRun ? "plan" : e.command}: playbook ${e.playbook}, ${e.hosts.length} host(s), ${e.phases.length} phase(s)`,
        );
        return;
      case "connect":
        if (!e.ok) line(`${e.host}: UNREACHABLE: ${e.error}`);
        else if (opts.verbose) line(`${e.host}: connected (${e.durationMs} ms)`);
        return;
      case "phase-start":
        if (opts.verbose) line(`== phase ${e.phase} on ${e.hosts.join(", ")}`);
        return;
      case "phase-skipped":
        if (!e.quiet || opts.verbose) line(`== ${e.phase}: not run: ${e.reason}`);
        return;
      case "phase-end": {
        const c = counts.get(e.phase) ?? { ok: 0, changed: 0, failed: 0, skipped: 0 };
        const parts = [
          c.changed ? `${c.changed} ${dryRun ? "to change" : "changed"}` : "",
          c.failed ? `${c.failed} failed` : "",
          c.ok ? `${c.ok} ok` : "",
          c.skipped ? `${c.skipped} skipped` : "",
        ].filter(Boolean);
        line(`== ${e.phase}: ${parts.join(", ") || "nothing to do"} (${(e.durationMs / 1000).toFixed(1)} s)`);
        return;
      }
      case "step-start":
        return;
      case "step":
        count(e.phase, e.status);
        if (!opts.verbose && (e.status === "ok" || e.status === "skipped")) return;
        line(`[${e.phase}] ${e.host}: ${e.status.padEnd(7)} ${e.step}: ${e.message} (${e.durationMs} ms)`);
        if (e.diff && (opts.showDiffs || opts.verbose)) write(indent(e.diff));
        if (e.detail && opts.verbose) write(indent(e.detail));
        return;
      case "handler":
        line(
          `[${e.phase}] ${e.host}: ${e.status.padEnd(7)} handler ${e.handler}: ${e.message} (${e.durationMs} ms)`,
        );
        if (e.detail && opts.verbose) write(indent(e.detail));
        return;
      case "warning":
        line(`warning: ${e.host ? `${e.host}: ` : ""}${e.message}`);
        return;
      case "summary":
        write(`${formatRecap(e.summary, false)}\n`);
        return;
      default:
        assertNever(e);
    }
  };
}

function indent(text: string): string {
  return `${text
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n")}\n`;
}
