import type { EventListener } from "../../core/events.js";
import { assertNever } from "../../core/events.js";
import { formatRecap } from "./recap.js";

/** Timestamped lines for CI logs and pipes (no TTY). */
export function plainRenderer(
  write: (line: string) => void,
  opts: { verbose: boolean; showDiffs: boolean },
): EventListener {
  const ts = () => new Date().toISOString();
  const line = (s: string) => write(`${ts()} ${s}\n`);
  return (e) => {
    switch (e.kind) {
      case "run-start":
        line(
          `${e.dryRun ? "plan" : e.command}: playbook ${e.playbook}, ${e.hosts.length} host(s), ${e.phases.length} phase(s)`,
        );
        return;
      case "connect":
        line(e.ok ? `${e.host}: connected (${e.durationMs} ms)` : `${e.host}: UNREACHABLE: ${e.error}`);
        return;
      case "phase-start":
        line(`== phase ${e.phase} on ${e.hosts.join(", ")}`);
        return;
      case "phase-skipped":
        line(`== phase ${e.phase} skipped: ${e.reason}`);
        return;
      case "phase-end":
        if (opts.verbose) line(`== phase ${e.phase} done (${e.durationMs} ms)`);
        return;
      case "step-start":
        return;
      case "step":
        line(`[${e.phase}] ${e.host}: ${e.status.padEnd(7)} ${e.step}: ${e.message} (${e.durationMs} ms)`);
        if (e.diff && (opts.showDiffs || opts.verbose)) write(indent(e.diff));
        if (e.detail && opts.verbose) write(indent(e.detail));
        return;
      case "handler":
        line(
          `[${e.phase}] ${e.host}: ${e.status.padEnd(7)} handler ${e.handler}: ${e.message} (${e.durationMs} ms)`,
        );
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
